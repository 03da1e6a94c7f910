# The KVM probe's boot sector (x86_64 hosts): what a real boot loader and
# kernel ask of the hypervisor, in half a second. SeaBIOS loads it at
# 0x7c00 from the probe's disk and jumps to it in real mode. It then
#   1. leaves real mode for 32-bit protected mode,
#   2. uses instructions KVM must emulate rather than run: string I/O
#      (rep outsb), string moves into unbacked guest memory (MMIO), and
#      an interrupt return (iret),
#   3. drops back to real mode through a 16-bit protected-mode segment and
#      calls the BIOS to read a disk sector, as extlinux and GRUB do
#      between their protected-mode parts,
#   4. returns to protected mode, builds page tables, enables PAE and
#      EFER.LME and turns paging on: long mode, as a kernel does,
#   5. writes the marker below to the debug port (0x402) and halts.
# A paravirtualized or nested KVM that cannot run a guest stops at one of
# these steps (an emulation failure, an internal error, or an abort), so
# the marker never appears. Each step also writes one letter to the debug
# port, so the probe's log shows how far the guest came.
#
# Assemble (the test does this to check kvmprobe/x86_64.bin):
#   as --32 -o x.o x86_64.S && ld -m elf_i386 -Ttext=0x7c00 --oformat=binary -o x86_64.bin x.o
	.intel_syntax noprefix
	.code16
	.globl _start
_start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	mov [boot_drive], dl
	mov dx, 0x402
	mov al, 'R'
	out dx, al

	# 1. Into 32-bit protected mode.
	lgdt [gdt_desc]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	ljmp 0x08, offset pm32

	.code32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, 0x7c00
	# 2. String I/O and string moves into MMIO space (no device there).
	mov esi, offset letter_p
	mov ecx, 1
	mov dx, 0x402
	rep outsb
	mov esi, offset marker
	mov edi, 0xfebf0000
	mov ecx, 8
	rep movsb
	mov esi, 0xfebf0000
	mov edi, 0x9000
	mov ecx, 8
	rep movsb
	# An interrupt return within protected mode, as a boot loader's
	# interrupt and mode-switch thunks do (extlinux's is where a
	# paravirtualized KVM has been seen to fail).
	pushfd
	push 0x08
	push offset after_iret
	iretd
after_iret:
	mov al, 'I'
	mov dx, 0x402
	out dx, al

	# 3. Back to real mode through a 16-bit segment, for a BIOS call.
	ljmp 0x20, offset pm16
	.code16
pm16:
	mov ax, 0x28
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr0
	and eax, 0xfffffffe
	mov cr0, eax
	ljmp 0, offset real_again
real_again:
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	mov ax, 0x0201          # read one sector (CHS 0/0/1) to 0000:8000
	mov cx, 0x0001
	xor dh, dh
	mov dl, [boot_drive]
	mov bx, 0x8000
	int 0x13
	cli
	jc fail
	mov dx, 0x402
	mov al, 'B'
	out dx, al

	# 4. Protected mode again, then long mode with paging.
	lgdt [gdt_desc]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	ljmp 0x08, offset pm32_again
	.code32
pm32_again:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov edi, 0x1000         # PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000
	xor eax, eax
	mov ecx, 0xc00
	rep stosd
	mov dword ptr [0x1000], 0x2003
	mov dword ptr [0x2000], 0x3003
	mov dword ptr [0x3000], 0x83    # the first 2 MiB, identity-mapped
	mov eax, cr4
	or eax, 0x20            # PAE
	mov cr4, eax
	mov eax, 0x1000
	mov cr3, eax
	mov ecx, 0xc0000080     # EFER
	rdmsr
	or eax, 0x100           # LME
	wrmsr
	mov eax, cr0
	or eax, 0x80000000      # PG
	mov cr0, eax
	ljmp 0x18, offset long_mode

	.code64
long_mode:
	# 5. The marker, by string I/O from long mode.
	mov esi, offset marker
	mov ecx, marker_end - marker
	mov dx, 0x402
	rep outsb
halt:
	cli
	hlt
	jmp halt

	.code16
fail:
	mov dx, 0x402
	mov al, 'F'
	out dx, al
	jmp halt16
halt16:
	hlt
	jmp halt16

	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff   # 0x08: 32-bit code, flat
	.quad 0x00cf92000000ffff   # 0x10: data, flat
	.quad 0x00af9a000000ffff   # 0x18: 64-bit code
	.quad 0x00009a000000ffff   # 0x20: 16-bit code, 64 KiB
	.quad 0x000092000000ffff   # 0x28: 16-bit data, 64 KiB
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
boot_drive:
	.byte 0
letter_p:
	.ascii "P"
marker:
	.ascii "L\nkvm-probe: long mode reached\n"
marker_end:
	.org 510
	.word 0xaa55
