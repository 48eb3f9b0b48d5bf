/* SPDX-License-Identifier: Apache-2.0 */
/* The backup controller: KarmadaBackup objects (one snapshot of an instance's etcd and its
 * encrypted certificates, written to S3 once) and KarmadaBackupSchedule objects (backups on a
 * cron schedule, old ones removed by retention). */
#pragma once

#include "runtime/manager.h"

struct backup_controller_options {
        int workers;           /* backups taken in parallel (each blocks a worker) */
        const char *namespace; /* only objects of this namespace; NULL: all */
};

int backup_controller_setup(struct manager *m, const struct backup_controller_options *o);
