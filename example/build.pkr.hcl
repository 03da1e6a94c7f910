# A golden web-server image from Debian's cloud image.
#
# With internet access this builds from Debian's official image index:
#   packer init example && packer build example
# Offline, `make example` serves a locally built Debian image and its
# checksum index from 127.0.0.1 and points the variables at them.

packer {
  required_plugins {
    kvm = {
      source  = "github.com/kvmforge/kvm"
      version = ">= 0.1.0"
    }
  }
}

variable "source_image_url" {
  type        = string
  description = "The cloud image to start from."
  default     = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
}

variable "source_image_checksum" {
  type        = string
  description = "Its checksum, or file:<checksum index URL>."
  default     = "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
}

variable "output_directory" {
  type    = string
  default = "output-web"
}

source "kvm" "web" {
  source_image_url      = var.source_image_url
  source_image_checksum = var.source_image_checksum
  ssh_username          = "packer"
  output_directory      = var.output_directory
  disk_size             = "4G"
}

build {
  sources = ["source.kvm.web"]

  # A tiny HTTP service from what every Debian cloud image has (python3),
  # so the example needs no package mirror inside the guest.
  provisioner "shell" {
    inline = [
      "sudo mkdir -p /srv/www",
      "echo 'hello from a packer-plugin-kvm golden image' | sudo tee /srv/www/index.html",
      "printf '[Unit]\\nDescription=Static web page\\nAfter=network.target\\n[Service]\\nExecStart=/usr/bin/python3 -m http.server 80 --directory /srv/www\\n[Install]\\nWantedBy=multi-user.target\\n' | sudo tee /etc/systemd/system/web.service",
      "sudo systemctl enable --now web.service",
    ]
  }
}
