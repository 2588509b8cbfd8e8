// process.rlimits and oomScoreAdj.
#pragma once

#include <vector>

#include "core/error.h"
#include "spec/spec.h"

namespace berth::linux {

// setrlimit each of the spec's limits in the calling process; an error names
// the limit ("set RLIMIT_NOFILE to 1024/4096: Operation not permitted").
Status apply_rlimits(const std::vector<spec::Rlimit>& rlimits);

// Write /proc/self/oom_score_adj.
Status apply_oom_score_adj(int value);

}  // namespace berth::linux
