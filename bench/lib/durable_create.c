/* durable_create: the disk's rate of durable small-file creations, the way a mail queue makes them.
 *
 * Each file: write SIZE octets to <dir>/<t>.<n>.tmp, fsync it, rename it to <t>.<n>.msg, fsync the
 * folder. THREADS threads do this side by side in one folder for SECONDS seconds; prints the files made
 * per second. Used by bench/disk_limit (compiled on the fly with cc).
 *
 * usage: durable_create DIR THREADS SECONDS SIZE
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char* dir;
static int dir_fd;
static size_t size;
static char* payload;
static atomic_int stop;
static atomic_long made;

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void* worker(void* arg) {
  long t = (long)arg;
  char tmp[4096], final[4096];
  for (long n = 0; !atomic_load(&stop); ++n) {
    snprintf(tmp, sizeof tmp, "%s/%ld.%ld.tmp", dir, t, n);
    snprintf(final, sizeof final, "%s/%ld.%ld.msg", dir, t, n);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) die("open");
    for (size_t off = 0; off < size;) {
      ssize_t w = write(fd, payload + off, size - off);
      if (w < 0) die("write");
      off += (size_t)w;
    }
    if (fsync(fd) != 0) die("fsync");
    if (close(fd) != 0) die("close");
    if (rename(tmp, final) != 0) die("rename");
    if (fsync(dir_fd) != 0) die("fsync dir");
    atomic_fetch_add(&made, 1);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s DIR THREADS SECONDS SIZE\n", argv[0]);
    return 2;
  }
  dir = argv[1];
  int threads = atoi(argv[2]);
  double seconds = atof(argv[3]);
  size = (size_t)atol(argv[4]);
  payload = malloc(size);
  if (!payload) die("malloc");
  for (size_t i = 0; i < size; ++i) payload[i] = (char)('a' + i % 26);
  dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dir_fd < 0) die("open dir");

  pthread_t* tids = calloc((size_t)threads, sizeof *tids);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long t = 0; t < threads; ++t)
    if (pthread_create(&tids[t], NULL, worker, (void*)t) != 0) die("pthread_create");
  struct timespec nap = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&nap, NULL);
  atomic_store(&stop, 1);
  for (int t = 0; t < threads; ++t) pthread_join(tids[t], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double elapsed = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("%ld %.3f\n", atomic_load(&made), elapsed);
  return 0;
}
