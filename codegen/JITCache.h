#ifndef DS_CODEGEN_JITCACHE_H
#define DS_CODEGEN_JITCACHE_H

// The JIT's persistent cache: compiled bundles on disk, so a serving process that compiled a
// pipeline once loads it at start-up instead of compiling again.
//
// An entry is keyed by the compile's key (the ds IR and the target) and the compiler's identity
// (a hash of the compiler's sources, computed at build time, and the LLVM version): a changed
// compiler never reads an older compiler's entries. The file name is the 128-bit xxh3 of that
// key; the file holds a header (format version, the key's own hash again, payload length and
// checksum) and the serialized bundle. A missing, truncated or corrupt entry (length, checksum,
// key or bundle parse mismatch) reads as a miss: the JIT compiles again and rewrites it.
// Writes go to a unique temporary file in the same folder, then rename() over the entry, so a
// reader sees the old entry or the new one, never a partial one; processes warming up at once
// may each compile, and the last rename wins with an identical entry.
//
// Folder: $DS_JIT_CACHE_DIR when set (set and empty: no disk cache), else
// $XDG_CACHE_HOME/ds/jit, else $HOME/.cache/ds/jit; created on the first store.
#include "codegen/JIT.h"

#include <optional>
#include <string>

namespace ds::jit {

class DiskCache {
public:
  /// The cache in `folder` ("" disables it).
  explicit DiskCache(std::string folder) : folder(std::move(folder)) {}
  /// The cache of the environment's folder (see above).
  static DiskCache fromEnvironment();

  bool enabled() const { return !folder.empty(); }
  const std::string &directory() const { return folder; }

  /// The compiler's identity entries are keyed by (source hash and LLVM version).
  static std::string compilerId();
  /// The entry file of `key` (whether or not it exists).
  std::string entryPath(const std::string &key) const;
  /// The bundle stored under `key`, or nothing (no entry, or one that fails its checks).
  std::optional<rt::Bundle> load(const std::string &key) const;
  /// Stores `bundle` under `key` atomically. An error (folder not writable, disk full) is
  /// returned for the caller to ignore: the cache is an optimization.
  rt::Status store(const std::string &key, const rt::Bundle &bundle) const;

private:
  std::string folder;
};

/// compileSource through `cache`: the stored bundle of (source, target) when there is a valid
/// one, else a compile whose bundle is then stored. `hit` (optional) says which.
rt::Expected<rt::Bundle> compileSourceCached(const std::string &source, const Target &target,
                                             const DiskCache &cache, bool *hit = nullptr);

} // namespace ds::jit

#endif // DS_CODEGEN_JITCACHE_H
