#include "common/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/text.h"

namespace pso::common {
namespace {

// The one key a key file holds: its only line that is neither blank nor a comment.
Result<std::string> readKeyText(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in)
    return makeError("io",
                     std::string(what) + " " + path + ": cannot open: " + std::strerror(errno));
  std::string line;
  std::string key;
  int keys = 0;
  while (std::getline(in, line)) {
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    key = std::string(text);
    ++keys;
  }
  if (in.bad()) return makeError("io", std::string(what) + " " + path + ": read error");
  if (keys != 1 || !isCurveKey(key)) {
    return makeError(
        "invalid", std::string(what) + " " + path + ": expected one 40-character Z85 CurveZMQ key");
  }
  return key;
}

}  // namespace

Result<CurveKeyPair> generateCurveKeyPair() {
  char public_key[kCurveKeyZ85Length + 1] = {};
  char secret_key[kCurveKeyZ85Length + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return makeError("zmq",
                     std::string("cannot make a CurveZMQ key pair: ") + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{public_key, secret_key};
}

bool isCurveKey(std::string_view text) {
  return decodeCurveKey(text).ok();
}

Result<std::string> decodeCurveKey(std::string_view z85) {
  if (z85.size() != kCurveKeyZ85Length) {
    return makeError("invalid",
                     "a CurveZMQ key is 40 Z85 characters, got " + std::to_string(z85.size()));
  }
  const std::string text(z85);
  std::string raw(kCurveKeyBytes, '\0');
  if (zmq_z85_decode(reinterpret_cast<uint8_t*>(raw.data()), text.c_str()) == nullptr) {
    return makeError("invalid", "not a Z85 key (a character outside the Z85 alphabet)");
  }
  return raw;
}

Result<std::string> encodeCurveKey(std::string_view raw) {
  if (raw.size() != kCurveKeyBytes) {
    return makeError("invalid", "a CurveZMQ key is 32 bytes, got " + std::to_string(raw.size()));
  }
  char text[kCurveKeyZ85Length + 1] = {};
  if (zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(raw.data()), raw.size()) == nullptr) {
    return makeError("invalid", "cannot encode the key as Z85");
  }
  return std::string(text);
}

Status writeCurveKeyFiles(const std::string& prefix, const CurveKeyPair& pair) {
  if (!isCurveKey(pair.public_key) || !isCurveKey(pair.secret_key)) {
    return makeError("invalid", "not a CurveZMQ key pair");
  }
  const std::string secret_path = prefix + ".key";
  const std::string public_path = prefix + ".pub";
  // Check both names before writing either, so a refusal leaves no half pair.
  for (const std::string& path : {secret_path, public_path}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      return makeError("exists", path + ": already exists; not overwritten");
    }
  }
  if (Status s =
          writeNewFile(secret_path,
                       "# PSO-PRIME CurveZMQ secret key: keep this file private (mode 0600)\n" +
                           pair.secret_key + "\n",
                       0600);
      !s) {
    return s;
  }
  if (Status s = writeNewFile(public_path, pair.public_key + "\n", 0644); !s) {
    ::unlink(secret_path.c_str());
    return s;
  }
  return {};
}

Status checkOwnerOnlyFile(const std::string& path, const std::string& label) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return makeError("io", label + ": cannot open: " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return makeError("permissions",
                     label + ": mode " + mode + " lets other users read it; chmod 600 it");
  }
  return Status();
}

Result<CurveKeyPair> readCurveSecretKeyFile(const std::string& path) {
  if (auto mode = checkOwnerOnlyFile(path, "secret key file " + path); !mode.ok()) {
    return mode.error();
  }
  auto secret = readKeyText(path, "secret key file");
  if (!secret) return secret.error();
  char public_key[kCurveKeyZ85Length + 1] = {};
  if (zmq_curve_public(public_key, secret->c_str()) != 0) {
    return makeError("invalid", "secret key file " + path + ": cannot derive the public key");
  }
  return CurveKeyPair{public_key, *secret};
}

Result<std::string> readCurvePublicKeyFile(const std::string& path) {
  return readKeyText(path, "public key file");
}

Status writeNewFile(const std::string& path, const std::string& text, unsigned mode) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) {
    if (errno == EEXIST) return makeError("exists", path + ": already exists; not overwritten");
    return makeError("io", path + ": cannot create: " + std::strerror(errno));
  }
  // The umask may have narrowed the mode; a secret key must end up exactly 0600.
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  std::size_t written = 0;
  while (ok && written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<std::size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return makeError("io", path + ": write failed: " + std::strerror(saved));
  }
  return {};
}

}  // namespace pso::common
