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
#                             bstack against raw null_blk and dm, in QEMU
#                             on the stock kernel
#   make profile [PROFILE_WORKLOAD=W]  guest instructions per I/O, by
#                             function, for raw null_blk, dm and bstack

KDIR ?= /lib/modules/$(shell uname -r)/build
# What scripts/probe.sh found in KDIR, one directory per kernel release.
KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
BSTACK_CONFIG_DIR ?= $(CURDIR)/build/config/$(KRELEASE)
TORTURE_SECS ?= 180
BENCH_ROUNDS ?= 5
BENCH_SECS ?= 2
BENCH_CLOCK ?= icount
PROFILE_WORKLOAD ?= randread-qd32
KERNEL ?= 6.12

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

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) BSTACK_CONFIG_DIR=$(BSTACK_CONFIG_DIR) clean 2>/dev/null
	$(MAKE) -C tools clean
	$(MAKE) -C tests/host clean
	rm -rf build

.PHONY: all modules probe tools host-test check demo torture bench profile checkpatch clean
