# SPDX-License-Identifier: GPL-2.0
#
# bstack: build the module against KDIR and bstackctl, and run the tests.
#
#   make                      bstack.ko for KDIR, and tools/bstackctl
#   make KDIR=/path/to/build  against another kernel build directory
#   make check [KERNELS="debug 6.1 6.12 unstable"] [TESTS="002 013"]
#                             every test, in QEMU, on every kernel of the
#                             matrix (or those named, and those cases)
#   make demo [KERNEL=6.1|6.12|unstable]
#                             a guided tour in QEMU on a stock kernel
#   make torture [TORTURE_SECS=N]  the reliability cases on the debug
#                             kernel, the concurrency torture N seconds long
#   make bench [BENCH_ROUNDS=N] [BENCH_SECS=S] [BENCH_CLOCK=icount|wall]
#              [BENCH_AXES=...] [BENCH_KERNELS="6.1 6.12 unstable"]
#                             bstack against raw null_blk, dm and md
#                             raid0, in QEMU on each stock kernel
#   make profile [PROFILE_WORKLOAD=W] [PROFILE_KERNEL=6.1|6.12|unstable]
#                             guest instructions per I/O, by function,
#                             for raw null_blk, dm and bstack
#   make install [DESTDIR=D] [PREFIX=/usr/local] [KDIR=...]
#                             bstack.ko for KDIR's kernel (not the running
#                             one's, unless KDIR says so), bstackctl, its
#                             man page and bash completion, the udev rules
#                             and a modules-load.d entry
#   make install-tools        all of that but the module (bstack-tools)
#   make uninstall            take it all away again
#   make dkms-install         the sources in /usr/src/bstack-VERSION, added
#                             to DKMS, built and installed for KDIR's kernel
#   make dkms-uninstall       remove bstack from DKMS and /usr/src
#   make deb                  bstack-dkms and bstack-tools, Debian packages,
#                             into build/deb/

KDIR ?= /lib/modules/$(shell uname -r)/build
# What scripts/probe.sh found in KDIR, one directory per kernel release.
# The release as the kernel says it (uname -r): UTS_RELEASE. Debian's 6.1
# headers say the upstream version in include/config/kernel.release.
KRELEASE = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
BSTACK_CONFIG_DIR ?= $(CURDIR)/build/config/$(KRELEASE)
TORTURE_SECS ?= 180
BENCH_ROUNDS ?= 5
BENCH_SECS ?= 2
BENCH_CLOCK ?= icount
PROFILE_WORKLOAD ?= randread-qd32
KERNEL ?= 6.12

# Where things are installed. udev, modules-load and bash-completion read
# fixed directories, whatever PREFIX is.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/bstack
UDEVRULESDIR ?= /usr/lib/udev/rules.d
MODULESLOADDIR ?= /usr/lib/modules-load.d
SYSTEMDUNITDIR ?= /usr/lib/systemd/system
BASHCOMPDIR ?= /usr/share/bash-completion/completions
INSTALL_MOD_DIR ?= updates
# The driver's version, as the uapi header says; dkms.conf says the same.
VERSION := $(shell sed -n 's/^\#define BSTACK_VERSION_\(MAJOR\|MINOR\|PATCH\)[[:space:]]*\([0-9]*\).*/\2/p' include/uapi/linux/bstack.h | paste -sd.)
DKMS_SRC = $(DESTDIR)/usr/src/bstack-$(VERSION)

all: modules tools

modules: probe
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 BSTACK_CONFIG_DIR=$(BSTACK_CONFIG_DIR) modules

# The kernel's features, probed before anything is compiled against it.
probe:
	@test -n "$(KRELEASE)" || { echo "$(KDIR) is not a prepared kernel build directory (set KDIR)" >&2; exit 1; }
	bash scripts/probe.sh $(KDIR) $(BSTACK_CONFIG_DIR)

tools:
	$(MAKE) -C tools

host-test:
	$(MAKE) -C tests/host check

check:
	KERNELS="$(KERNELS)" TESTS="$(TESTS)" bash scripts/check.sh

demo:
	KERNEL="$(KERNEL)" bash scripts/demo.sh

torture:
	TORTURE_SECS=$(TORTURE_SECS) bash scripts/torture.sh

profile:
	PROFILE_WORKLOAD=$(PROFILE_WORKLOAD) bash scripts/profile.sh

bench:
	BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_SECS=$(BENCH_SECS) BENCH_CLOCK=$(BENCH_CLOCK) bash scripts/bench.sh

checkpatch:
	bash scripts/checkpatch.sh

install: install-module install-tools

install-module: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) BSTACK_CONFIG_DIR=$(BSTACK_CONFIG_DIR) \
		INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		modules_install
	@# kbuild skips depmod without the kernel's System.map, which headers
	@# packages lack; a DESTDIR is a package's, whose installer runs it.
	test -n "$(DESTDIR)" || depmod -a $(KRELEASE)

install-tools: tools
	$(MAKE) -C tools install DESTDIR=$(DESTDIR) SBINDIR=$(SBINDIR)
	install -D -m 0644 Documentation/bstackctl.8 $(DESTDIR)$(MANDIR)/man8/bstackctl.8
	install -D -m 0644 dist/60-bstack.rules $(DESTDIR)$(UDEVRULESDIR)/60-bstack.rules
	install -D -m 0644 dist/modules-load.conf $(DESTDIR)$(MODULESLOADDIR)/bstack.conf
	install -D -m 0644 dist/bstackctl.bash $(DESTDIR)$(BASHCOMPDIR)/bstackctl
	install -D -m 0644 dist/lvm-bstack.conf $(DESTDIR)$(DATADIR)/lvm-bstack.conf
	sed 's|/usr/sbin/bstackctl|$(SBINDIR)/bstackctl|' dist/bstack.service > bstack.service.tmp
	install -D -m 0644 bstack.service.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/bstack.service
	rm -f bstack.service.tmp

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KRELEASE)/$(INSTALL_MOD_DIR)/bstack.ko \
		$(DESTDIR)/lib/modules/$(KRELEASE)/$(INSTALL_MOD_DIR)/bstack.ko.*
	test -n "$(DESTDIR)" || test -z "$(KRELEASE)" || depmod -a $(KRELEASE)
	rm -f $(DESTDIR)$(SBINDIR)/bstackctl $(DESTDIR)$(MANDIR)/man8/bstackctl.8 \
		$(DESTDIR)$(UDEVRULESDIR)/60-bstack.rules \
		$(DESTDIR)$(MODULESLOADDIR)/bstack.conf \
		$(DESTDIR)$(BASHCOMPDIR)/bstackctl \
		$(DESTDIR)$(DATADIR)/lvm-bstack.conf \
		$(DESTDIR)$(SYSTEMDUNITDIR)/bstack.service
	-rmdir $(DESTDIR)$(DATADIR)

# The sources where DKMS looks for them, without build output.
dkms-source:
	@test "$$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)" = "$(VERSION)" || \
		{ echo "dkms.conf's PACKAGE_VERSION is not $(VERSION), the uapi header's" >&2; exit 1; }
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)/scripts
	cp -r Makefile Kbuild dkms.conf src include $(DKMS_SRC)/
	cp -r scripts/common.sh scripts/probe.sh scripts/probes $(DKMS_SRC)/scripts/

# dkms reads CC from Debian's .kernelvariables with a make of its own,
# whose "Entering directory" lines, under our MAKELEVEL, would land in CC.
DKMS = env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS dkms

dkms-install: dkms-source
	$(DKMS) add -m bstack -v $(VERSION)
	$(DKMS) install -m bstack -v $(VERSION) -k $(KRELEASE) --kernelsourcedir $(KDIR)

dkms-uninstall:
	-$(DKMS) remove -m bstack -v $(VERSION) --all
	rm -rf $(DKMS_SRC)

deb:
	bash scripts/make-deb.sh

# What DKMS's CLEAN runs: the module's build output only.
clean-module:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) BSTACK_CONFIG_DIR=$(BSTACK_CONFIG_DIR) clean 2>/dev/null
	rm -rf build/config

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) BSTACK_CONFIG_DIR=$(BSTACK_CONFIG_DIR) clean 2>/dev/null
	$(MAKE) -C tools clean
	$(MAKE) -C tests/host clean
	rm -rf build

.PHONY: all modules probe tools host-test check demo torture bench profile checkpatch clean \
	install install-module install-tools uninstall dkms-source dkms-install deb \
	dkms-uninstall clean-module
