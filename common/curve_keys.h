#pragma once

// CurveZMQ key pairs on disk (docs/security.md): `psoctl keygen --out PREFIX`
// writes PREFIX.key (the secret key, Z85, mode 0600) and PREFIX.pub (the
// public key, Z85). The controller's authorized_keys_dir holds one
// `<agent-id>.pub` per agent; an agent pins the controller's public key in its
// config. Keys are the 40-character Z85 text of 32-byte Curve25519 keys.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::common {

inline constexpr std::size_t kCurveKeyZ85Length = 40;
inline constexpr std::size_t kCurveKeyBytes = 32;

struct CurveKeyPair {
  std::string public_key;  ///< Z85
  std::string secret_key;  ///< Z85
};

/// A fresh key pair from libzmq (code "zmq" when libzmq lacks CURVE).
[[nodiscard]] Result<CurveKeyPair> generateCurveKeyPair();

/// True when `text` is 40 Z85 characters (a 32-byte key).
bool isCurveKey(std::string_view text);

/// The 32 raw bytes of a Z85 key; code "invalid" when it is not one.
[[nodiscard]] Result<std::string> decodeCurveKey(std::string_view z85);
/// The Z85 text of 32 raw key bytes; code "invalid" for another length.
[[nodiscard]] Result<std::string> encodeCurveKey(std::string_view raw);

/// Writes PREFIX.key (secret key, created with mode 0600) and PREFIX.pub
/// (public key, 0644). Refuses to overwrite either file (code "exists"), so a
/// key in use is never replaced by accident; code "io" for any write error.
[[nodiscard]] Status writeCurveKeyFiles(const std::string& prefix, const CurveKeyPair& pair);

/// Reads a secret key file and derives its public key. Refused: a file that
/// group or others can read or write (code "permissions", as ssh refuses a
/// loose private key), or one that does not hold one Z85 key ("invalid";
/// blank lines and lines starting with '#' are ignored).
[[nodiscard]] Result<CurveKeyPair> readCurveSecretKeyFile(const std::string& path);

/// A private key's file must be readable by its owner only, as ssh requires
/// of a private key: "io" when it cannot be stat()ed, "permissions" (with
/// the mode and `chmod 600 it`) when group or others have any access. The
/// message starts with `label` (e.g. "secret key file PATH").
[[nodiscard]] Status checkOwnerOnlyFile(const std::string& path, const std::string& label);

/// Creates `path` holding `text` with exactly `mode` (whatever the umask),
/// flushed to disk. Never overwrites: an existing file is code "exists"; any
/// other failure is "io" and leaves no file. For secret keys of any kind
/// (psoctl keygen and psoctl badge-keygen write theirs with it).
[[nodiscard]] Status writeNewFile(const std::string& path, const std::string& text, unsigned mode);

/// Reads a public key file (one Z85 key; '#' comment lines ignored).
[[nodiscard]] Result<std::string> readCurvePublicKeyFile(const std::string& path);

}  // namespace pso::common
