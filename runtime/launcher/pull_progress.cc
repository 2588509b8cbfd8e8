#include "launcher/pull_progress.h"

#include <fmt/format.h>

namespace berth::launcher {
namespace {

constexpr size_t kBarWidth = 50;

const char* status_text(registry::LayerStatus status) {
  switch (status) {
    case registry::LayerStatus::kAlreadyExists:
      return "Already exists";
    case registry::LayerStatus::kPullingFsLayer:
      return "Pulling fs layer";
    case registry::LayerStatus::kDownloading:
      return "Downloading";
    case registry::LayerStatus::kDownloadComplete:
      return "Download complete";
    case registry::LayerStatus::kPullComplete:
      return "Pull complete";
  }
  return "";
}

// Docker's units: decimal, two or three significant digits ("1.2MB").
std::string decimal_size(uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(kUnits)) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.3g}{}", value, kUnits[unit]);
}

}  // namespace

std::string progress_bar(uint64_t current, uint64_t total) {
  if (total == 0) return decimal_size(current);
  size_t filled = static_cast<size_t>(kBarWidth * std::min(current, total) / total);
  std::string bar(filled, '=');
  if (filled < kBarWidth) bar += '>';
  bar.resize(kBarWidth, ' ');
  return fmt::format("[{}] {:>8}/{}", bar, decimal_size(current), decimal_size(total));
}

void PullProgress::pulling(const std::string& tag_or_digest, const std::string& repository) {
  if (quiet_) return;
  fmt::print(out_, "{}: Pulling from {}\n", tag_or_digest, repository);
  std::fflush(out_);
}

void PullProgress::layer(const std::string& layer, registry::LayerStatus status, uint64_t current,
                         uint64_t total) {
  if (quiet_) return;
  std::string id = layer.substr(layer.find(':') + 1, 12);
  size_t index = 0;
  while (index < lines_.size() && lines_[index].id != id) ++index;
  bool known = index < lines_.size();
  if (!known) lines_.push_back(Line{.id = id, .status = status});
  Line& line = lines_[index];
  // Without a terminal, only a change of status is news.
  if (!terminal_ && known && line.status == status) return;
  line.status = status;
  line.text = status_text(status);
  if (status == registry::LayerStatus::kDownloading) line.text += " " + progress_bar(current, total);
  if (!terminal_) {
    fmt::print(out_, "{}: {}\n", line.id, line.text);
  } else if (!known) {
    fmt::print(out_, "{}: {}\n", line.id, line.text);
  } else {
    draw(index);
  }
  std::fflush(out_);
}

// Redraws line index in place: up to it, clear it, write, back down.
void PullProgress::draw(size_t index) {
  size_t up = lines_.size() - index;
  fmt::print(out_, "\033[{}A\r\033[2K{}: {}\033[{}B\r", up, lines_[index].id, lines_[index].text, up);
}

}  // namespace berth::launcher
