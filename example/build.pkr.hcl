# A golden web-server image, end to end with the four components:
# resolve Debian's newest cloud image, boot it, install a service,
# generalize the guest, and export it for other platforms.
#
# With internet access this builds from Debian's official image index:
#   packer init example && packer build example
# Offline, `make example` serves a locally built Debian image and its
# checksum index from 127.0.0.1 and points index_url at them.

packer {
  required_plugins {
    kvm = {
      source  = "github.com/kvmforge/kvm"
      version = ">= 0.1.0"
    }
  }
}

variable "index_url" {
  type        = string
  description = "The checksum index that lists the cloud images."
  default     = "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
}

variable "name_regex" {
  type        = string
  description = "The image's file name in the index."
  default     = "^debian-12-genericcloud-amd64(-(?P<version>[0-9-]+))?\\.qcow2$"
}

variable "output_directory" {
  type    = string
  default = "output-web"
}

data "kvm-cloudimage" "debian" {
  index_url   = var.index_url
  name_regex  = var.name_regex
  most_recent = true
}

source "kvm" "web" {
  source_image_url      = data.kvm-cloudimage.debian.url
  source_image_checksum = data.kvm-cloudimage.debian.checksum
  ssh_username          = "packer"
  output_directory      = var.output_directory
  disk_size             = "4G"
}

build {
  sources = ["source.kvm.web"]

  # A small web service from what every Debian cloud image has (python3),
  # so the example needs no package mirror inside the guest.
  provisioner "shell" {
    inline = [
      "sudo mkdir -p /srv/www",
      "echo 'hello from a packer-plugin-kvm golden image' | sudo tee /srv/www/index.html",
      "printf '[Unit]\\nDescription=Static web page\\nAfter=network.target\\n[Service]\\nExecStart=/usr/bin/python3 -m http.server 80 --directory /srv/www\\n[Install]\\nWantedBy=multi-user.target\\n' | sudo tee /etc/systemd/system/web.service",
      "sudo systemctl enable web.service",
    ]
  }

  # Every clone boots as a first boot with its own identity.
  provisioner "kvm-sysprep" {}

  post-processor "kvm-export" {
    output_directory = "${var.output_directory}/exports"
    target {
      format      = "qcow2"
      compression = "zstd"
    }
    target { format = "vmdk" }
    target { format = "vhdx" }
    checksum            = "sha256"
    keep_input_artifact = true
  }
}
