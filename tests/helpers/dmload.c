// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-dmload NAME < TABLE: make dm device NAME from a table of
 * "start length type args" lines, with the device-mapper ioctls
 * themselves (DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND to resume),
 * as dmsetup create --noudevsync does. For make bench's table-size axis:
 * bookworm's libdevmapper refuses an ioctl buffer over about 50 MB, so
 * dmsetup cannot load the million-line table that the kernel takes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/dm-ioctl.h>

#define DATA_START	((sizeof(struct dm_ioctl) + 7) & ~(size_t)7)

static const char *prog = "bstack-dmload";

static void header(struct dm_ioctl *io, size_t size, const char *name)
{
	memset(io, 0, sizeof(*io));
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = size;
	io->data_start = DATA_START;
	snprintf(io->name, sizeof(io->name), "%s", name);
}

static int call(int fd, unsigned long cmd, struct dm_ioctl *io,
		const char *what)
{
	if (ioctl(fd, cmd, io) == 0)
		return 0;
	fprintf(stderr, "%s: %s %s: %s\n", prog, what, io->name,
		strerror(errno));
	return -1;
}

int main(int argc, char **argv)
{
	size_t size = 1 << 20, len = DATA_START, n = 0;
	unsigned long long start, length;
	char *buf, *line = NULL, type[DM_MAX_TYPE_NAME];
	size_t cap = 0;
	struct dm_ioctl small;
	unsigned int count = 0;
	int fd, pos, r = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME < TABLE\n", prog);
		return 2;
	}
	buf = malloc(size);
	if (!buf)
		return 1;
	while (getline(&line, &cap, stdin) > 0) {
		struct dm_target_spec *spec;
		size_t plen, need;
		char *params;

		n++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[strspn(line, " \t")])
			continue;
		if (sscanf(line, "%llu %llu %15s %n", &start, &length, type,
			   &pos) != 3) {
			fprintf(stderr, "%s: line %zu: not \"start length type args\"\n",
				prog, n);
			return 2;
		}
		params = line + pos;
		plen = strlen(params) + 1;
		need = (sizeof(*spec) + plen + 7) & ~(size_t)7;
		while (len + need > size) {
			size *= 2;
			buf = realloc(buf, size);
			if (!buf) {
				fprintf(stderr, "%s: out of memory\n", prog);
				return 1;
			}
		}
		spec = (struct dm_target_spec *)(buf + len);
		memset(spec, 0, need);
		spec->sector_start = start;
		spec->length = length;
		spec->next = need;
		snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
		memcpy(spec + 1, params, plen);
		len += need;
		count++;
	}
	free(line);
	fd = open("/dev/mapper/control", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: /dev/mapper/control: %s\n", prog,
			strerror(errno));
		return 1;
	}
	header(&small, sizeof(small), argv[1]);
	if (call(fd, DM_DEV_CREATE, &small, "create"))
		return 1;
	header((struct dm_ioctl *)buf, len, argv[1]);
	((struct dm_ioctl *)buf)->target_count = count;
	if (call(fd, DM_TABLE_LOAD, (struct dm_ioctl *)buf, "load"))
		goto remove;
	header(&small, sizeof(small), argv[1]);
	if (call(fd, DM_DEV_SUSPEND, &small, "resume"))
		goto remove;
	r = 0;
	goto out;
remove:
	header(&small, sizeof(small), argv[1]);
	call(fd, DM_DEV_REMOVE, &small, "remove");
out:
	free(buf);
	close(fd);
	return r;
}
