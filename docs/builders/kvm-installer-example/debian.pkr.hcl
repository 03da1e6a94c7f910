# An installer build of Debian 12 from its netinst ISO with a preseed file
# (http/preseed.cfg): `packer init . && packer build .`
#
# Not run by the project's tests: the machine they run on cannot reach the
# installer's own package components (.udeb). The tests prove the same path
# with an installer-shaped ISO (scripts/installer-fixture.sh).

packer {
  required_plugins {
    kvm = {
      source  = "github.com/kvmforge/kvm"
      version = ">= 0.1.0"
    }
  }
}

variable "password" {
  type      = string
  default   = "packer"
  sensitive = true
}

source "kvm" "debian" {
  iso_url      = "https://cdimage.debian.org/cdimage/archive/12.8.0/amd64/iso-cd/debian-12.8.0-amd64-netinst.iso"
  iso_checksum = "file:https://cdimage.debian.org/cdimage/archive/12.8.0/amd64/iso-cd/SHA256SUMS"
  disk_size    = "8G"
  memory       = 2048

  http_directory = "http"
  boot_wait      = "5s"
  # BIOS: Esc leaves the graphical menu for isolinux's boot: prompt, where
  # the "auto" entry takes the preseed URL.
  boot_command = [
    "<esc><wait>",
    "auto url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg",
    " hostname=debian domain=local<enter>",
  ]

  ssh_username     = "packer"
  ssh_password     = var.password
  ssh_timeout      = "60m"
  shutdown_command = "sudo systemctl poweroff"
}

build {
  sources = ["source.kvm.debian"]
  provisioner "shell" {
    inline = ["sudo apt-get update", "sudo apt-get install -y qemu-guest-agent"]
  }
}
