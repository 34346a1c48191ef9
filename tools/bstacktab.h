/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /etc/bstacktab: the devices to bring up at boot (bstacktab.c parses it,
 * bstackctl apply acts on it). One entry per device:
 *
 *	# comment
 *	device NAME [uuid=UUID] [readonly] [table=FILE]
 *		START LENGTH TARGET ARGS...
 *		...
 *
 * The table lines of an entry are indented, and follow its "device" line;
 * table=FILE takes them from FILE instead. A lower device given as
 * /dev/bstack/OTHER, OTHER an entry of the file, makes OTHER come up
 * first.
 */
#ifndef BSTACKCTL_BSTACKTAB_H
#define BSTACKCTL_BSTACKTAB_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/bstack.h>

#define TAB_ERR_LEN	320
/* The prefix by which one entry's table names another's device. */
#define TAB_LINK_DIR	"/dev/bstack/"

/*
 * The characters of a name or uuid: those udev links carry as they are,
 * device-mapper's set. name_unsafe_char() gives the first other one of
 * @s, or NULL.
 */
#define NAME_CHARS	"0-9 A-Z a-z and # + - . : = @ _"
const char *name_unsafe_char(const char *s);

struct tab_entry {
	char name[BSTACK_NAME_LEN];
	char uuid[BSTACK_UUID_LEN];	/* "" for none */
	bool readonly;
	unsigned int line;		/* of its "device" line */
	unsigned int table_line;	/* of its first table line, 0 with table=FILE */
	char *table_file;		/* table=FILE, or NULL */
	char *table;			/* the inline table text, or NULL */
	size_t table_len;
	size_t *deps;			/* entries it maps through TAB_LINK_DIR */
	size_t ndeps;
	char error[TAB_ERR_LEN];	/* why it is refused, or "" */
};

struct bstacktab {
	struct tab_entry *entries;
	size_t count;
	size_t *order;			/* indices, each after what it maps */
};

/*
 * Parse @text. An entry that is wrong gets its error ("LINE: why") and
 * the others are kept; a line outside any entry is an error of its own,
 * in @err. Returns 0, 1 if @err says something, or -1 when out of memory.
 */
int bstacktab_parse(const char *text, size_t len, struct bstacktab *tab,
		    char err[TAB_ERR_LEN]);
/*
 * After the tables of table=FILE entries are in (->table, ->table_len):
 * check every table, find what each maps, and order the entries so that
 * each comes after those; a cycle is an error of its entries. 0, or -1
 * when out of memory.
 */
int bstacktab_prepare(struct bstacktab *tab);
void bstacktab_free(struct bstacktab *tab);

#endif
