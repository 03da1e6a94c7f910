# For full specification on the configuration of this file visit:
# https://github.com/hashicorp/integration-template#metadata-configuration
integration {
  name        = "KVM"
  description = "Build VM images with QEMU/KVM from cloud images: boot, provision, generalize and export."
  identifier  = "packer/kvmforge/kvm"
  flags       = ["hcp-ready"]
  component {
    type = "builder"
    name = "KVM"
    slug = "kvm"
  }
  component {
    type = "provisioner"
    name = "KVM Sysprep"
    slug = "sysprep"
  }
  component {
    type = "post-processor"
    name = "KVM Export"
    slug = "export"
  }
  component {
    type = "data-source"
    name = "KVM Cloud Image"
    slug = "cloudimage"
  }
}
