# The Packer integrations portal reads this file and the compiled docs next
# to it (README.md, components/). Field reference:
# https://github.com/hashicorp/integration-template#metadata-configuration
integration {
  name        = "KVM"
  description = "Build VM images with QEMU/KVM from cloud images: boot, provision, generalize and export."
  identifier  = "packer/kvmforge/kvm"
  # hcp-ready: the builder sets HCP Packer registry metadata on its artifacts.
  flags = ["hcp-ready"]
  docs {
    # The portal renders the docs compiled by
    # .web-docs/scripts/compile-to-webdocs.sh (make generate).
    process_docs    = true
    readme_location = "./README.md"
    external_url    = "https://github.com/kvmforge/packer-plugin-kvm"
  }
  license {
    type = "MPL-2.0"
    url  = "https://github.com/kvmforge/packer-plugin-kvm/blob/main/LICENSE"
  }
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
