// runc logs through logrus, and containerd's shim parses what it writes:
// the JSON formatter's {"level","msg","time"} lines, or the text
// formatter's `time="..." level=... msg="..."`. Both are reproduced here,
// with the time in UTC at second precision (logrus's RFC3339 layout).
#include "core/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/clock.h"
#include "core/unique_fd.h"

namespace berth::log {
namespace {

struct Sink {
  UniqueFd file;  // the --log file; invalid means stderr
  Format format = Format::Text;
  bool debug = false;

  int fd() const { return file.valid() ? file.get() : STDERR_FILENO; }
};

Sink& sink() {
  static Sink instance;
  return instance;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warning:
      return "warning";
    case Level::Error:
      return "error";
  }
  return "unknown";
}

// Length of the UTF-8 sequence starting at text[i] and its code point, or 0
// for a byte that does not start a valid sequence.
size_t decode_utf8(std::string_view text, size_t i, char32_t* code_point) {
  unsigned char lead = text[i];
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xe  ? 3
                  : (lead >> 3) == 0x1e ? 4
                                        : 0;
  if (length == 0 || i + length > text.size()) return 0;
  char32_t value = length == 1 ? lead : lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    unsigned char next = text[i + k];
    if ((next & 0xc0) != 0x80) return 0;
    value = (value << 6) | (next & 0x3f);
  }
  constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMinForLength[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
    return 0;  // overlong, out of range, or a surrogate
  *code_point = value;
  return length;
}

// logrus's text formatter leaves these bare and quotes anything else.
bool needs_quoting(std::string_view text) {
  for (char c : text) {
    bool bare = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+';
    if (!bare) return true;
  }
  return false;
}

// Go's strconv.Quote, which logrus applies through %q: C-style escapes,
// \xNN for control bytes and invalid UTF-8, \uNNNN for C1 controls.
std::string quote_like_go(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    char32_t c = 0;
    size_t length = decode_utf8(text, i, &c);
    if (length == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
        else if (c >= 0x80 && c < 0xa0)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
          out.append(text.substr(i, length));
    }
    i += length;
  }
  out += '"';
  return out;
}

std::string format_entry(Format format, Level level, const std::string& message,
                         const std::string& time) {
  if (format == Format::Json) {
    nlohmann::json entry = {{"level", level_name(level)}, {"msg", message}, {"time", time}};
    // A message may carry bytes from a path or a child's error that are not
    // UTF-8; replacing them beats failing to report the error at all.
    return entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  auto value = [](const std::string& text) {
    return needs_quoting(text) ? quote_like_go(text) : text;
  };
  return fmt::format("time={} level={} msg={}\n", value(time), level_name(level), value(message));
}

}  // namespace

void configure(const std::string& path, Format format, bool debug) {
  Sink& s = sink();
  s.format = format;
  s.debug = debug;
  s.file.reset();
  if (path.empty()) return;
  // O_APPEND makes each entry's single write(2) land whole at the end even
  // when several runtime processes (create, start, the shim's kill) share
  // one log file.
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int saved = errno;
    write(Level::Warning,
          fmt::format("open log file {}: {}; logging to stderr", path, ::strerror(saved)));
    return;
  }
  s.file.reset(fd);
}

bool debug_enabled() { return sink().debug; }

void write(Level level, const std::string& message) {
  const Sink& s = sink();
  if (level == Level::Debug && !s.debug) return;
  std::string entry = format_entry(s.format, level, message, rfc3339_now(false));
  // One write(2) per entry so concurrent writers never interleave within a
  // line; a failed log write has nowhere better to be reported.
  ssize_t written;
  do {
    written = ::write(s.fd(), entry.data(), entry.size());
  } while (written < 0 && errno == EINTR);
}

}  // namespace berth::log
