module github.com/kvmforge/packer-plugin-kvm/tools/release

go 1.23
