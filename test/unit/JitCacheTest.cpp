// The JIT's disk cache (codegen/JITCache.h), without a GPU: hits return the stored bundle, a
// truncated or corrupt entry is a miss that is recompiled and rewritten, entries are keyed by
// target and IR, concurrent writers (threads, and processes warming up one folder) never expose a
// partial entry.
#include "codegen/JITCache.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

using namespace ds;

namespace {

/// A fresh folder under the system temp dir, removed afterwards.
struct TempDir {
  std::string path;
  TempDir() {
    llvm::SmallString<128> p;
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("ds-jit-cache", p));
    path = std::string(p);
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
};

const char *kSource = R"(
func.func @gather(%x: tensor<?x8x128xbf16> {ds.name = "x"}, %ch: tensor<8x16xi32> {ds.name = "channels"})
    -> tensor<?x8x16xbf16> {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}
)";

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
void writeAll(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}
size_t filesIn(const std::string &dir) {
  size_t n = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    ++n;
  return n;
}

const jit::Target kTarget{"sm_90", 132};

TEST(JitDiskCache, SecondCompileIsAHitWithTheSameBundle) {
  TempDir dir;
  jit::DiskCache cache(dir.path + "/nested/jit"); // created on the first store
  bool hit = true;
  auto first = jit::compileSourceCached(kSource, kTarget, cache, &hit);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_FALSE(hit);
  ASSERT_TRUE(llvm::sys::fs::exists(cache.entryPath(kTarget.key() + "\n" + kSource)));
  auto second = jit::compileSourceCached(kSource, kTarget, cache, &hit);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_TRUE(hit);
  EXPECT_EQ(second->serialize(), first->serialize());
  EXPECT_EQ(filesIn(cache.directory()), 1u) << "one entry, no temporary files left";
}

TEST(JitDiskCache, TargetAndSourceAreInTheKey) {
  TempDir dir;
  jit::DiskCache cache(dir.path);
  bool hit = true;
  ASSERT_TRUE(jit::compileSourceCached(kSource, kTarget, cache, &hit).ok());
  auto other = jit::compileSourceCached(kSource, jit::Target{"sm_90", 114}, cache, &hit);
  ASSERT_TRUE(other.ok()) << other.message();
  EXPECT_FALSE(hit) << "another SM count is another compile";
  std::string edited = std::string(kSource) + "\n// a comment\n";
  ASSERT_TRUE(jit::compileSourceCached(edited, kTarget, cache, &hit).ok());
  EXPECT_FALSE(hit) << "other IR text is another entry";
  EXPECT_EQ(filesIn(dir.path), 3u);
}

TEST(JitDiskCache, CorruptOrTruncatedEntriesAreRecompiledAndRewritten) {
  TempDir dir;
  jit::DiskCache cache(dir.path);
  const std::string key = kTarget.key() + "\n" + kSource;
  bool hit = true;
  auto first = jit::compileSourceCached(kSource, kTarget, cache, &hit);
  ASSERT_TRUE(first.ok()) << first.message();
  const std::string path = cache.entryPath(key), good = readAll(path);
  ASSERT_GT(good.size(), 200u);

  // One flipped byte in the payload: the checksum disagrees.
  std::string bad = good;
  bad[bad.size() - 100] ^= 0x20;
  writeAll(path, bad);
  EXPECT_FALSE(cache.load(key).has_value());
  auto again = jit::compileSourceCached(kSource, kTarget, cache, &hit);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_FALSE(hit);
  EXPECT_EQ(readAll(path), good) << "the entry is rewritten";
  EXPECT_TRUE(cache.load(key).has_value());

  // Cut short (a crash mid-write of an older, non-atomic writer; a full disk), or cut inside
  // the header, or another key's entry under this name, or empty.
  std::string otherKey = good;
  char &keyChar = otherKey[good.find("\nkey ") + 5];
  keyChar = keyChar == '0' ? '1' : '0';
  for (const std::string &broken :
       {good.substr(0, good.size() / 2), good.substr(0, 20), std::string(), otherKey}) {
    writeAll(path, broken);
    EXPECT_FALSE(cache.load(key).has_value()) << broken.size() << " bytes";
    auto rebuilt = jit::compileSourceCached(kSource, kTarget, cache, &hit);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.message();
    EXPECT_FALSE(hit);
    EXPECT_EQ(rebuilt->serialize(), first->serialize());
  }
}

TEST(JitDiskCache, ConcurrentWritersNeverExposeAPartialEntry) {
  TempDir dir;
  jit::DiskCache cache(dir.path);
  auto bundle = jit::compileSource(kSource, kTarget);
  ASSERT_TRUE(bundle.ok()) << bundle.message();
  const std::string key = "concurrent", want = bundle->serialize();
  std::atomic<int> partial{0}, seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(cache.store(key, *bundle).ok());
        if (auto got = cache.load(key)) {
          ++seen;
          if (got->serialize() != want)
            ++partial;
        }
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(partial.load(), 0);
  EXPECT_EQ(seen.load(), 160) << "every load after a store finds a whole entry";
  EXPECT_EQ(filesIn(dir.path), 1u) << "no temporary files left";
}

// The worker process of ConcurrentProcessesWarmOneFolder (disabled: that test runs it, with
// DS_TEST_CACHE_WORKER_DIR set): compiles the source through the cache in that folder a few times;
// the process fails on a compile error, on a bundle other than a direct compile's or when the
// last call is not a hit.
TEST(JitDiskCache, DISABLED_CacheWorkerProcess) {
  const char *dir = std::getenv("DS_TEST_CACHE_WORKER_DIR");
  ASSERT_NE(dir, nullptr) << "DS_TEST_CACHE_WORKER_DIR names the cache folder";
  jit::DiskCache cache(dir);
  auto direct = jit::compileSource(kSource, kTarget);
  ASSERT_TRUE(direct.ok()) << direct.message();
  bool hit = false;
  for (int i = 0; i < 4; ++i) {
    auto got = jit::compileSourceCached(kSource, kTarget, cache, &hit);
    ASSERT_TRUE(got.ok()) << got.message();
    EXPECT_EQ(got->serialize(), direct->serialize()) << "call " << i;
  }
  EXPECT_TRUE(hit) << "a later call finds the entry";
}

// Several serving processes warming up at once on one cache folder: each process compiles,
// stores and loads the same entry; every one gets the direct compile's bundle and one whole
// entry is left, no temporary files.
TEST(JitDiskCache, ConcurrentProcessesWarmOneFolder) {
  TempDir dir;
  std::string self = "/proc/self/exe";
  char filter[] = "--gtest_filter=JitDiskCache.DISABLED_CacheWorkerProcess";
  char disabled[] = "--gtest_also_run_disabled_tests";
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e)
    env.emplace_back(*e);
  env.push_back("DS_TEST_CACHE_WORKER_DIR=" + dir.path);
  std::vector<char *> envp;
  for (std::string &e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<pid_t> workers;
  for (int i = 0; i < 4; ++i) {
    pid_t pid;
    char *argv[] = {self.data(), filter, disabled, nullptr};
    ASSERT_EQ(posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    workers.push_back(pid);
  }
  for (pid_t pid : workers) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker " << pid << " failed";
  }
  EXPECT_EQ(filesIn(dir.path), 1u) << "one entry, no temporary files left";
}

TEST(JitDiskCache, FolderFromTheEnvironmentAndDisabled) {
  const char *old = std::getenv("DS_JIT_CACHE_DIR");
  std::string saved = old ? old : "";
  setenv("DS_JIT_CACHE_DIR", "/some/where", 1);
  EXPECT_EQ(jit::DiskCache::fromEnvironment().directory(), "/some/where");
  setenv("DS_JIT_CACHE_DIR", "", 1);
  jit::DiskCache off = jit::DiskCache::fromEnvironment();
  EXPECT_FALSE(off.enabled());
  unsetenv("DS_JIT_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(jit::DiskCache::fromEnvironment().directory(), "/xdg/ds/jit");
  unsetenv("XDG_CACHE_HOME");
  if (old)
    setenv("DS_JIT_CACHE_DIR", saved.c_str(), 1);

  // Disabled: nothing stored, nothing found, compiles still work.
  bool hit = true;
  EXPECT_TRUE(off.store("k", rt::Bundle()).ok());
  EXPECT_FALSE(off.load("k").has_value());
  ASSERT_TRUE(jit::compileSourceCached(kSource, kTarget, off, &hit).ok());
  EXPECT_FALSE(hit);
  ASSERT_TRUE(jit::compileSourceCached(kSource, kTarget, off, &hit).ok());
  EXPECT_FALSE(hit);
}

TEST(JitDiskCache, CompilerIdNamesTheSourcesAndLlvm) {
  const std::string id = jit::DiskCache::compilerId();
  EXPECT_EQ(id.find(" llvm-22"), 64u) << id; // a SHA-256 in hex, then the LLVM version
}

} // namespace
