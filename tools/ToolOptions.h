#ifndef DS_TOOLS_TOOLOPTIONS_H
#define DS_TOOLS_TOOLOPTIONS_H

// What a ds tool's command line accepts: its own options and LLVM's generic ones (--help,
// --help-list, --help-hidden, --version), not the thousands of options that the linked LLVM
// libraries register for their back ends and passes (--x86-asm-syntax, --print-after-all, ...).
// cl::HideUnrelatedOptions only hides those from --help; these functions unregister them, so
// that the parser refuses them as unknown arguments. Header-only: each tool links LLVM (and
// DSCodegen, for the compiler's identity) already.
#include "codegen/JITCache.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace ds::tools {

/// LLVM's own command-line options that every tool keeps.
inline bool isGenericOption(llvm::StringRef name) {
  return name == "help" || name == "help-list" || name == "help-hidden" ||
         name == "help-list-hidden" || name == "version";
}

/// --version prints the tool and the ds compiler's identity (the hash of its sources and the
/// LLVM it was built with: what the JIT disk cache keys on and the C API's ds_version() returns),
/// not LLVM's own version banner alone. Call before parsing.
inline void setVersionPrinter(const char *tool) {
  static const char *name = tool;
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << name << " (ds compiler " << ::ds::jit::DiskCache::compilerId() << ")\n";
  });
}

/// Unregisters every option but `keep`'s and the generic ones; call before parsing.
inline void acceptOnlyCategory(llvm::cl::OptionCategory &keep) {
  llvm::cl::HideUnrelatedOptions(keep);
  llvm::SmallVector<llvm::cl::Option *> drop;
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::cl::Option *option = entry.second;
    if (isGenericOption(entry.first) || llvm::is_contained(option->Categories, &keep))
      continue;
    drop.push_back(option);
  }
  for (llvm::cl::Option *option : drop)
    option->removeArgument();
}

/// Unregisters every option registered so far but the generic ones: for ds-opt, whose own
/// options (MLIR's and the passes') are registered after this runs, at the start of main.
inline void dropStaticLLVMOptions() {
  llvm::SmallVector<llvm::cl::Option *> drop;
  for (auto &entry : llvm::cl::getRegisteredOptions())
    if (!isGenericOption(entry.first))
      drop.push_back(entry.second);
  for (llvm::cl::Option *option : drop)
    option->removeArgument();
}

/// An error for a source path that is a device or a directory ("'PATH' is not a regular file"):
/// reading /dev/zero as a source never ended. Pipes, "-" (stdin) and missing files (the
/// reader's own error names them) pass.
inline std::optional<std::string> sourceFileError(llvm::StringRef path) {
  llvm::sys::fs::file_status status;
  if (path == "-" || llvm::sys::fs::status(path, status))
    return std::nullopt;
  if (status.type() == llvm::sys::fs::file_type::regular_file ||
      status.type() == llvm::sys::fs::file_type::fifo_file)
    return std::nullopt;
  return "'" + path.str() + "' is not a regular file";
}

} // namespace ds::tools

#endif // DS_TOOLS_TOOLOPTIONS_H
