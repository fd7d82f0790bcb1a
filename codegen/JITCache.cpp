#include "codegen/JITCache.h"

#include "codegen/CompilerId.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/xxhash.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace ds;
using namespace ds::jit;
using rt::Bundle;
using rt::ErrorCode;
using rt::Expected;
using rt::Status;

namespace {
constexpr const char *kMagic = "ds-jit-cache 1";

std::string hex128(std::string_view data) {
  llvm::XXH128_hash_t h = llvm::xxh3_128bits(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(data.data()), data.size()));
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

/// The full key of an entry: what was compiled, for what, by which compiler.
std::string fullKey(const std::string &key) { return DiskCache::compilerId() + "\n" + key; }
} // namespace

std::string DiskCache::compilerId() {
  return std::string(DS_COMPILER_ID) + " llvm-" LLVM_VERSION_STRING;
}

DiskCache DiskCache::fromEnvironment() {
  if (const char *dir = std::getenv("DS_JIT_CACHE_DIR"))
    return DiskCache(dir);
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    path = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    llvm::sys::path::append(path, home, ".cache");
  else
    return DiskCache("");
  llvm::sys::path::append(path, "ds", "jit");
  return DiskCache(std::string(path));
}

/// The entry file named by a key's hash.
static std::string entryFile(const std::string &folder, const std::string &keyHash) {
  llvm::SmallString<256> path(folder);
  llvm::sys::path::append(path, keyHash + ".dsb");
  return std::string(path);
}

std::string DiskCache::entryPath(const std::string &key) const {
  return entryFile(folder, hex128(fullKey(key)));
}

std::optional<Bundle> DiskCache::load(const std::string &key) const {
  if (!enabled())
    return std::nullopt;
  const std::string keyHash = hex128(fullKey(key));
  std::ifstream in(entryFile(folder, keyHash), std::ios::binary);
  if (!in)
    return std::nullopt;
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  // Header: magic, key hash, payload bytes, payload checksum; one line each.
  std::istringstream header(text);
  std::string magic, keyLine, bytesLine, sumLine;
  if (!std::getline(header, magic) || magic != kMagic || !std::getline(header, keyLine) ||
      keyLine != "key " + keyHash || !std::getline(header, bytesLine) ||
      !std::getline(header, sumLine))
    return std::nullopt;
  const std::streamoff start = header.tellg();
  if (start < 0 || bytesLine.rfind("bytes ", 0) != 0 || sumLine.rfind("xxh3 ", 0) != 0)
    return std::nullopt;
  char *end = nullptr;
  const unsigned long long bytes = std::strtoull(bytesLine.c_str() + 6, &end, 10);
  if (*end != '\0' || bytes != text.size() - static_cast<size_t>(start))
    return std::nullopt; // truncated, or extended
  std::string_view payload(text.data() + start, bytes);
  if (sumLine.substr(5) != hex128(payload))
    return std::nullopt; // corrupt
  Expected<Bundle> bundle = Bundle::parse(payload);
  if (!bundle || !bundle->validate().ok())
    return std::nullopt;
  return std::move(*bundle);
}

Status DiskCache::store(const std::string &key, const Bundle &bundle) const {
  if (!enabled())
    return Status::success();
  if (std::error_code ec = llvm::sys::fs::create_directories(folder))
    return Status::error("jit cache: cannot create '" + folder + "': " + ec.message(),
                         ErrorCode::IO);
  const std::string payload = bundle.serialize();
  const std::string keyHash = hex128(fullKey(key));
  const std::string path = entryFile(folder, keyHash);
  // A name no other thread or process uses: pid, a per-process counter, the address space.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kMagic << "\nkey " << keyHash << "\nbytes " << payload.size()
        << "\nxxh3 " << hex128(payload) << "\n"
        << payload;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Status::error("jit cache: cannot write '" + tmp + "'", ErrorCode::IO);
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    std::remove(tmp.c_str());
    return Status::error("jit cache: cannot rename '" + tmp + "': " + ec.message(), ErrorCode::IO);
  }
  return Status::success();
}

Expected<Bundle> ds::jit::compileSourceCached(const std::string &source, const Target &target,
                                              const DiskCache &cache, bool *hit) {
  // The same key as the in-memory cache: the target and the IR.
  const std::string key = target.key() + "\n" + source;
  if (std::optional<Bundle> stored = cache.load(key)) {
    if (hit)
      *hit = true;
    return std::move(*stored);
  }
  if (hit)
    *hit = false;
  Expected<Bundle> bundle = compileSource(source, target);
  if (bundle)
    (void)cache.store(key, *bundle); // best effort: a read-only or full disk only costs time
  return bundle;
}
