// SPDX-License-Identifier: GPL-2.0
/* MODULE_IMPORT_NS() takes a bare namespace name, and a string only from 6.13 (this compiles until 6.12) */
#include <linux/module.h>

MODULE_IMPORT_NS(BSTACK_PROBE);
