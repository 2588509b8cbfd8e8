// berth run: an image and Docker-style flags become a container. The
// launcher prepares the bundle (the overlay rootfs of the image's layers,
// the OCI spec) and hands it to the runtime library, the same code path as
// berth-runtime's; it then supervises the container until it exits, in the
// foreground or, with -d, from a monitor process of its own, and finishes
// it (unmounts the rootfs, records the exit code, removes it with --rm).
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "launcher/records.h"
#include "launcher/run_options.h"

namespace berth::launcher {

struct LauncherPaths {
  std::string store_root;
  std::string init_binary;  // berth-init, bind-mounted by --init
};

// Foreground: the container's exit status. Detached: prints the id once
// the container runs and returns 0.
Result<int> run_container(const LauncherPaths& paths, const RunOptions& options);

// Finish a container whose process is gone (or must go): delete the
// runtime's container (killing what is left), unmount the rootfs, record
// exit_code (if known) and, if it was run with --rm or remove is set,
// remove its directory. Idempotent; serialised by the record's lock.
Status finish_container(const ContainerRecords& records, const std::string& id,
                        std::optional<int> exit_code, bool remove);

// Without -i, Docker gives the container's (or exec'ed) process an empty
// stdin: /dev/null becomes our fd 0, which the process inherits.
Status empty_stdin();

// Docker's exit status for a failure of berth's own: 127 when the command
// was not found, 126 when it could not be run, 125 otherwise.
int exit_status_for_error(const Error& error);

}  // namespace berth::launcher
