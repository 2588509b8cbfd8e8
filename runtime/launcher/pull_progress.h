// What `berth pull` (and `berth run` of an image it lacks) prints, as
// Docker does: "TAG: Pulling from REPO", then each layer by its short id —
// on a terminal one live line per layer with a progress bar, redrawn in
// place; otherwise one plain line per change of a layer's status.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "rootfs/registry/pull.h"

namespace berth::launcher {

class PullProgress : public registry::PullObserver {
 public:
  // terminal: draw live bars (the stream is a terminal); quiet: print nothing.
  PullProgress(std::FILE* out, bool terminal, bool quiet) : out_(out), terminal_(terminal), quiet_(quiet) {}

  void pulling(const std::string& tag_or_digest, const std::string& repository) override;
  void layer(const std::string& layer, registry::LayerStatus status, uint64_t current, uint64_t total) override;

 private:
  struct Line {
    std::string id;  // 12 hex digits of the blob's digest
    registry::LayerStatus status;
    std::string text;
  };
  void draw(size_t index);

  std::FILE* out_;
  bool terminal_;
  bool quiet_;
  std::vector<Line> lines_;
};

// "[=====>      ]  1.2MB/2.5MB", Docker's bar of width 50.
std::string progress_bar(uint64_t current, uint64_t total);

}  // namespace berth::launcher
