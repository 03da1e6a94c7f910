package qemu

// kvmPermissionHint has no advice on Windows, which has no /dev/kvm.
func kvmPermissionHint(string) string { return "" }
