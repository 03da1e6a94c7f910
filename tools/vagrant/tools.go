//go:build tools

// Package vagrant pins the official packer-plugin-vagrant, which the
// acceptance tests chain after kvm-export to check that the boxes it makes
// from our artifacts are what vagrant-libvirt reads. It has a module of its
// own so that its dependency tree never changes the pinned packer's.
package vagrant

import _ "github.com/hashicorp/packer-plugin-vagrant"
