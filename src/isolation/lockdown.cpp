#include "isolation/lockdown.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace sipi::isolation {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Landlock (Linux 5.13+): read and execute anywhere, write only below `scratch`.
bool landlock(const std::filesystem::path& scratch) {
  const std::uint64_t read = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  const std::uint64_t all = read | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                            LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                            LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                            LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                            LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = all;
  int rs = static_cast<int>(::syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (rs < 0) return false;
  auto add = [&](const char* path, std::uint64_t access) {
    int fd = ::open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return false;
    landlock_path_beneath_attr pb{};
    pb.allowed_access = access;
    pb.parent_fd = fd;
    bool ok = ::syscall(__NR_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0;
    ::close(fd);
    return ok;
  };
  bool ok = add("/", read) && (scratch.empty() || add(scratch.c_str(), all)) &&
            ::syscall(__NR_landlock_restrict_self, rs, 0) == 0;
  ::close(rs);
  return ok;
}

// seccomp: no network, no new programs or processes, no signals to other processes, no
// debugging of others; without Landlock, no open for writing either.
bool seccomp(bool refuse_writes) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return false;
  const auto deny = SCMP_ACT_ERRNO(EACCES);
  bool ok = true;
  auto rule = [&](int sc, unsigned n = 0, scmp_arg_cmp a = {}) {
    int r = n == 0 ? seccomp_rule_add(ctx, deny, sc, 0) : seccomp_rule_add(ctx, deny, sc, 1, a);
    ok = ok && r == 0;
  };
  for (int sc : {SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
                 SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork),
                 SCMP_SYS(vfork), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
                 SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(setns),
                 SCMP_SYS(unshare), SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(keyctl),
                 SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(init_module), SCMP_SYS(finit_module),
                 SCMP_SYS(kexec_load), SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(io_uring_setup)}) {
    rule(sc);
  }
  // Threads only: clone without CLONE_THREAD would be a new process. clone3 hides its flags in
  // memory seccomp cannot read; ENOSYS makes glibc fall back to clone.
  rule(SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
  ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0;
  // Signals: to itself only (abort() raises SIGABRT with tgkill on its own pid).
  const auto self = static_cast<scmp_datum_t>(::getpid());
  rule(SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_NE, self));
  rule(SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_NE, self));
  if (refuse_writes) {
    for (scmp_datum_t flag : {scmp_datum_t{O_WRONLY}, scmp_datum_t{O_RDWR}, scmp_datum_t{O_CREAT}}) {
      rule(SCMP_SYS(open), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, flag, flag));
      rule(SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, flag, flag));
    }
    ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) == 0;
    for (int sc : {SCMP_SYS(creat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat),
                   SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(truncate),
                   SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink), SCMP_SYS(symlinkat)}) {
      rule(sc);
    }
  }
  ok = ok && seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

}  // namespace

std::string lock_down(const LockdownLimits& limits) {
  std::string missing;
  rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (limits.address_space > 0 && !kSanitized) {
    rlimit as{limits.address_space, limits.address_space};
    if (::setrlimit(RLIMIT_AS, &as) != 0) missing += " address-space limit;";
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) missing += " no_new_privs;";
  bool fs = landlock(limits.scratch);
  if (!fs) missing += " Landlock (writes refused by seccomp instead);";
  if (!seccomp(!fs)) missing += " seccomp;";
  return missing;
}

void limit_cpu_for_next_job(unsigned seconds) {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  rlim_t used = static_cast<rlim_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1;
  // Only the soft limit moves (an unprivileged process cannot raise a hard limit again); its
  // SIGXCPU terminates the helper.
  // The hard limit cannot change under us: read once (a system call per job shows in tiles).
  static const rlimit hard = [] {
    rlimit r{};
    ::getrlimit(RLIMIT_CPU, &r);
    return r;
  }();
  rlimit cpu = hard;
  cpu.rlim_cur = used + seconds;
  if (cpu.rlim_max != RLIM_INFINITY && cpu.rlim_cur > cpu.rlim_max) cpu.rlim_cur = cpu.rlim_max;
  ::setrlimit(RLIMIT_CPU, &cpu);
}

}  // namespace sipi::isolation
