/*
 * tests/emu/fake/emu_runtime.cpp — the CUDA runtime stand-in: fibers for CUDA
 * threads, device and pinned memory, lazy streams and events (emu_core.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <time.h>

#include <deque>
#include <map>
#include <set>
#include <vector>

#include "cuda_runtime.h"

uint3 threadIdx, blockIdx;
unsigned emu_cur_tid;
dim3 blockDim, gridDim;

static cudaError_t last_error = cudaSuccess;

[[noreturn]] void emu_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "CUDA emulation: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fflush(NULL);
	abort();
}

void emu_set_error(cudaError_t e)
{
	if (e != cudaSuccess)
		last_error = e;
}

static pthread_mutex_t api_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
void emu_lock(void) { pthread_mutex_lock(&api_lock); }
void emu_unlock(void) { pthread_mutex_unlock(&api_lock); }

/* ---------------- fibers ---------------- */

/* A fiber's saved context, switch_to(from, to) (saves the running context in from, resumes to)
 * and ctx_init (a context that starts fiber_main on the given stack). On x86-64 a 12-instruction
 * stack switch saving the callee-saved registers (the floating-point control state is shared:
 * nothing here changes rounding modes); elsewhere, or with EMU_UCONTEXT, ucontext (slower: it
 * saves the signal mask with a system call at each switch). */
static void fiber_main(void);
#if defined(__x86_64__) && !defined(EMU_UCONTEXT)
extern "C" void emu_ctx_switch(void **save, void *to);
asm(".text\n"
    ".globl emu_ctx_switch\n"
    ".type emu_ctx_switch,@function\n"
    "emu_ctx_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size emu_ctx_switch,.-emu_ctx_switch\n");
struct emu_ctx {
	void *sp;
};
static inline void switch_to(emu_ctx *from, emu_ctx *to) { emu_ctx_switch(&from->sp, to->sp); }
static void ctx_init(emu_ctx *c, uintptr_t top)
{
	void **sp = (void **)(top & ~(uintptr_t)15);
	*--sp = NULL;               /* fiber_main's return address: it never returns */
	*--sp = (void *)fiber_main; /* where emu_ctx_switch's ret goes */
	for (int i = 0; i < 6; i++) /* rbp rbx r12-r15 */
		*--sp = NULL;
	c->sp = sp;
}
#else
#include <ucontext.h>
struct emu_ctx {
	ucontext_t uc;
};
static inline void switch_to(emu_ctx *from, emu_ctx *to)
{
	if (swapcontext(&from->uc, &to->uc))
		emu_fatal("swapcontext failed");
}
static void ctx_init(emu_ctx *c, uintptr_t top, char *stack)
{
	if (getcontext(&c->uc))
		emu_fatal("getcontext failed");
	c->uc.uc_stack.ss_sp = stack;
	c->uc.uc_stack.ss_size = (size_t)((top & ~(uintptr_t)15) - (uintptr_t)stack);
	c->uc.uc_link = NULL; /* fiber_main never returns */
	makecontext(&c->uc, fiber_main, 0);
}
#endif

enum { FIBER_STACK = 256 << 10, MAX_THREADS = 1024 };

struct fiber {
	emu_ctx ctx;
	char *stack;
	int done;
	uint3 idx; /* its threadIdx */
};

static struct {
	fiber f[MAX_THREADS];
	emu_ctx sched;
	unsigned nthreads, ndone;
	const std::function<void()> *body;
	/* barriers: the block's and each warp's; arrivals and generation */
	unsigned bar_count, bar_gen, warp_count[32], warp_gen[32];
	float xchg[2][MAX_THREADS];
	unsigned char xchg_turn[MAX_THREADS];
	unsigned char *smem;
	size_t smem_cap;
} fb;

/* the static __shared__ arrays poisoned in the current block (emu_shared_first_touch) */
static std::vector<void *> shared_touched;

static void yield(void) { switch_to(&fb.f[emu_cur_tid].ctx, &fb.sched); }

static void fiber_main(void)
{
	(*fb.body)();
	fb.f[emu_cur_tid].done = 1;
	fb.ndone++;
	yield();
	emu_fatal("a finished fiber was resumed");
}

static void fiber_start(unsigned t)
{
	fiber *f = &fb.f[t];
	if (!f->stack) {
		void *m = mmap(NULL, FIBER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			emu_fatal("no memory for a fiber stack");
		f->stack = (char *)m;
	}
	/* stack tops staggered by 17 cache lines per fiber: tops at one offset in same-sized mappings
	 * would all fall in the same cache sets and evict each other at every switch */
	uintptr_t top = (uintptr_t)(f->stack + FIBER_STACK - (t * 17 * 64) % (64 << 10));
#if defined(__x86_64__) && !defined(EMU_UCONTEXT)
	ctx_init(&f->ctx, top);
#else
	ctx_init(&f->ctx, top, f->stack);
#endif
	f->done = 0;
}

static uint3 coords(unsigned t)
{
	return uint3{ t % blockDim.x, (t / blockDim.x) % blockDim.y, t / (blockDim.x * blockDim.y) };
}

/* Kernels seen, and whether their first launch reached a barrier: one that did not runs its later
 * launches' threads as plain calls, one after another (most kernels; no fiber switches). */
static std::map<const void *, int> kernel_syncs;
static int direct, synced;
/* the second run of an order-checked launch: blocks first to last, the other blocks' threads reversed */
static int flipped;

/* Runs one block's threads as fibers, each pass over them in thread order, or in reverse order
 * (odd blocks): code that depends on the order threads run in between barriers (a race on a
 * GPU) then gives different results in different blocks. */
static void block_on_fibers(unsigned n, unsigned bx, unsigned by, int reverse)
{
	for (unsigned t = 0; t < n; t++) {
		fiber_start(t);
		fb.f[t].idx = coords(t);
	}
	unsigned live = n;
	while (live) {
		unsigned before = fb.bar_gen, progressed = 0;
		unsigned wg[32];
		memcpy(wg, fb.warp_gen, sizeof wg);
		for (unsigned i = 0; i < n; i++) {
			unsigned t = reverse ? n - 1 - i : i;
			if (fb.f[t].done)
				continue;
			emu_cur_tid = t;
			threadIdx = fb.f[t].idx;
			switch_to(&fb.sched, &fb.f[t].ctx);
			if (fb.f[t].done)
				live--, progressed = 1;
		}
		/* a pass in which no barrier opened and no thread finished: threads wait for a barrier
		 * some live thread never reaches */
		if (live && !progressed && before == fb.bar_gen && memcmp(wg, fb.warp_gen, sizeof wg) == 0)
			emu_fatal("deadlock in block (%u,%u): a barrier not every live thread reaches", bx, by);
	}
}

void emu_run_grid(const void *kernel, dim3 grid, dim3 block, size_t smem, const std::function<void()> &body,
		  const std::function<void(int)> &direct_block)
{
	unsigned n = block.x * block.y * block.z;
	gridDim = grid;
	blockDim = block;
	fb.body = &body;
	fb.nthreads = n;
	if (smem > fb.smem_cap) {
		free(fb.smem);
		if (posix_memalign((void **)&fb.smem, 128, smem))
			emu_fatal("no memory for %zu bytes of shared memory", smem);
		fb.smem_cap = smem;
	}
	auto seen = kernel_syncs.find(kernel);
	direct = seen != kernel_syncs.end() && !seen->second;
	synced = 0;
	/* the last block first: a kernel whose blocks read what lower-numbered blocks of the same
	 * launch wrote (no order a GPU promises) reads it unwritten (flipped: the first block first) */
	unsigned long long nblocks = (unsigned long long)grid.x * grid.y * grid.z;
	for (unsigned long long i = 0; i < nblocks; i++) {
		unsigned long long b = flipped ? i : nblocks - 1 - i;
		unsigned bx = (unsigned)(b % grid.x), by = (unsigned)(b / grid.x % grid.y),
			 bz = (unsigned)(b / ((unsigned long long)grid.x * grid.y));
		blockIdx = uint3{ bx, by, bz };
		if (smem)
			memset(fb.smem, 0xff, smem); /* NaN until written */
		shared_touched.clear();
		fb.bar_count = 0;
		fb.ndone = 0;
		memset(fb.warp_count, 0, sizeof fb.warp_count);
		memset(fb.xchg_turn, 0, sizeof fb.xchg_turn);
		int reverse = ((bx + by + bz) & 1) ^ flipped;
		if (direct)
			direct_block(reverse);
		else
			block_on_fibers(n, bx, by, reverse);
	}
	if (!direct)
		kernel_syncs[kernel] = synced;
	direct = 0;
}

/* a barrier of `n` threads: the last arrival opens it; the others wait for the generation to move */
static void barrier(unsigned *count, unsigned *gen, unsigned n)
{
	if (direct)
		emu_fatal("a kernel reached a barrier although its first launch reached none");
	synced = 1;
	unsigned g = *gen;
	if (++*count == n) {
		*count = 0;
		++*gen;
		return;
	}
	while (*gen == g)
		yield();
}

void __syncthreads(void)
{
	if (fb.ndone)
		emu_fatal("__syncthreads after %u threads of the block have exited", fb.ndone);
	barrier(&fb.bar_count, &fb.bar_gen, fb.nthreads);
}

static unsigned warp_size_of(unsigned w)
{
	unsigned first = w * 32;
	return fb.nthreads - first < 32 ? fb.nthreads - first : 32;
}

void __syncwarp(unsigned mask)
{
	unsigned w = emu_cur_tid / 32;
	if (mask != 0xffffffffu)
		emu_fatal("__syncwarp with a partial mask is not emulated");
	barrier(&fb.warp_count[w], &fb.warp_gen[w], warp_size_of(w));
}

float __shfl_xor_sync(unsigned mask, float v, int lane_mask)
{
	unsigned t = emu_cur_tid, w = t / 32, partner = (t & ~31u) | ((t % 32) ^ (unsigned)lane_mask);
	if (mask != 0xffffffffu || warp_size_of(w) != 32)
		emu_fatal("__shfl_xor_sync on a partial warp");
	/* two exchange slots used in turn: a lane writes a slot again only past the next shuffle's
	 * barrier, which every lane reaches after reading that slot, so one barrier per shuffle is enough */
	unsigned slot = fb.xchg_turn[t]++ & 1;
	fb.xchg[slot][t] = v;
	__syncwarp();
	return fb.xchg[slot][partner];
}

void emu_shared_first_touch(void *p, size_t bytes)
{
	for (void *q : shared_touched)
		if (q == p)
			return;
	memset(p, 0xff, bytes);
	shared_touched.push_back(p);
}

unsigned emu_lane(void) { return emu_cur_tid % 32; }
unsigned char *emu_dynamic_smem(void) { return fb.smem; }

/* per-kernel dynamic shared memory opt-in (cudaFuncSetAttribute) */
static std::map<const void *, int> smem_optin;
enum { SMEM_DEFAULT = 48 << 10, SMEM_OPTIN_MAX = 227 << 10 };

cudaError_t emu_func_set_smem(const void *kernel, int bytes)
{
	emu_guard g;
	if (bytes < 0 || bytes > SMEM_OPTIN_MAX) {
		emu_set_error(cudaErrorInvalidValue);
		return cudaErrorInvalidValue;
	}
	smem_optin[kernel] = bytes;
	return cudaSuccess;
}

cudaError_t emu_check_launch(const void *kernel, dim3 grid, dim3 block, size_t smem)
{
	unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
	cudaError_t e = cudaSuccess;
	if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
	    grid.y > 65535 || grid.z > 65535)
		e = cudaErrorInvalidConfiguration;
	auto it = smem_optin.find(kernel);
	if (smem > (size_t)(it == smem_optin.end() ? SMEM_DEFAULT : it->second))
		e = cudaErrorInvalidValue;
	emu_set_error(e);
	return e;
}

/* ---------------- memory ---------------- */

static std::map<uintptr_t, size_t> dev_allocs, pinned_allocs;
static size_t dev_in_use;
static const size_t CONTEXT_BYTES = (size_t)300 << 20; /* what a CUDA context takes before any allocation */

/* A device allocation of `bytes`: `len` (bytes rounded up to 256, as cudaMalloc aligns) ending at
 * an inaccessible guard page, in a mapping of `map` bytes that starts `map - page - len` bytes
 * before the allocation, so that an access past its end faults instead of reading a neighbour. */
struct guarded {
	size_t len, map;
};
static const size_t PAGE = 4096;
static guarded guarded_layout(size_t bytes)
{
	size_t len = ((bytes ? bytes : 1) + 255) & ~(size_t)255;
	return guarded{ len, ((len + PAGE - 1) & ~(PAGE - 1)) + PAGE };
}

static size_t device_total(void)
{
	const char *s = getenv("AMPTUNE_EMU_MEM_MIB");
	long mib = s ? atol(s) : 4096;
	return (size_t)(mib > 0 ? mib : 4096) << 20;
}

static int in_map(const std::map<uintptr_t, size_t> &m, const void *p, size_t bytes)
{
	uintptr_t a = (uintptr_t)p;
	auto it = m.upper_bound(a);
	if (it == m.begin())
		return 0;
	--it;
	return a >= it->first && a + bytes <= it->first + it->second;
}

int emu_is_device(const void *p, size_t bytes)
{
	emu_guard g;
	return in_map(dev_allocs, p, bytes);
}
int emu_is_pinned(const void *p)
{
	emu_guard g;
	return in_map(pinned_allocs, p, 1);
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
	emu_guard g;
	*p = NULL;
	if (bytes >= device_total() - CONTEXT_BYTES - dev_in_use) {
		emu_set_error(cudaErrorMemoryAllocation);
		return cudaErrorMemoryAllocation;
	}
	guarded gl = guarded_layout(bytes);
	char *base = (char *)mmap(NULL, gl.map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || mprotect(base + gl.map - PAGE, PAGE, PROT_NONE))
		emu_fatal("host out of memory for %zu device bytes", bytes);
	char *m = base + gl.map - PAGE - gl.len;
	memset(m, 0xff, gl.len); /* NaN in every float type until written */
	dev_allocs[(uintptr_t)m] = bytes ? bytes : 1;
	dev_in_use += bytes ? bytes : 1;
	*p = m;
	return cudaSuccess;
}

/* A fault on a guard page names the allocation it follows; then the signal goes on as it would. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	auto it = dev_allocs.upper_bound(a);
	if (it != dev_allocs.begin()) {
		--it;
		size_t len = guarded_layout(it->second).len;
		if (a >= it->first + len && a < it->first + len + PAGE)
			fprintf(stderr,
				"CUDA emulation: access at %p, byte %zu of the device allocation at %p of %zu bytes "
				"(a kernel or a copy out of bounds)\n",
				si->si_addr, (size_t)(a - it->first), (void *)it->first, it->second);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

__attribute__((constructor)) static void install_segv(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
}

cudaError_t cudaFree(void *p)
{
	emu_guard g;
	if (!p)
		return cudaSuccess;
	emu_flush_all(); /* cudaFree waits for the device */
	auto it = dev_allocs.find((uintptr_t)p);
	if (it == dev_allocs.end())
		emu_fatal("cudaFree(%p): not a device allocation", p);
	guarded gl = guarded_layout(it->second);
	dev_in_use -= it->second;
	dev_allocs.erase(it);
	munmap((char *)p + gl.len + PAGE - gl.map, gl.map); /* the mapping's start: see guarded_layout */
	return cudaSuccess;
}

/* ---------------- the order check (emu_core.h) ---------------- */

int emu_order_check(void)
{
	static int on = -1;
	if (on < 0) {
		const char *v = getenv("AMPTUNE_EMU_ORDER_CHECK");
		on = v && !strcmp(v, "1");
	}
	return on;
}

struct alloc_copy {
	char *p;
	size_t n;
	std::vector<char> before, after;
};

void emu_run_both_orders(const char *kernel, const char *file, int line, const std::vector<const void *> &args,
			 const std::function<void()> &run)
{
	std::vector<alloc_copy> a; /* the device allocations the arguments point into, each once */
	for (const void *p : args) {
		auto it = dev_allocs.upper_bound((uintptr_t)p);
		if (!p || it == dev_allocs.begin())
			continue;
		--it;
		int seen = 0;
		for (auto &c : a)
			seen |= c.p == (char *)it->first;
		if (!seen)
			a.push_back(alloc_copy{ (char *)it->first, it->second, {}, {} });
	}
	for (auto &c : a)
		c.before.assign(c.p, c.p + c.n);
	run();
	for (auto &c : a) {
		c.after.assign(c.p, c.p + c.n);
		memcpy(c.p, c.before.data(), c.n);
	}
	flipped = 1;
	run();
	flipped = 0;
	for (auto &c : a)
		for (size_t i = 0; i < c.n; i++)
			if (c.p[i] != c.after[i])
				emu_fatal("%s:%d: %s: its results depend on the order its blocks, or its threads between "
					  "barriers, run in (a race on a GPU): byte %zu of the %zu-byte device allocation "
					  "at %p was 0x%02x with the last block first and is 0x%02x with the first first",
					  file, line, kernel, i, c.n, (void *)c.p, (unsigned char)c.after[i],
					  (unsigned char)c.p[i]);
}

cudaError_t cudaMallocHost(void **p, size_t bytes)
{
	emu_guard g;
	void *m = NULL;
	if (posix_memalign(&m, 4096, bytes ? bytes : 1))
		return *p = NULL, emu_set_error(cudaErrorMemoryAllocation), cudaErrorMemoryAllocation;
	memset(m, 0xff, bytes);
	pinned_allocs[(uintptr_t)m] = bytes ? bytes : 1;
	*p = m;
	return cudaSuccess;
}

cudaError_t cudaFreeHost(void *p)
{
	emu_guard g;
	if (!p)
		return cudaSuccess;
	emu_flush_all();
	auto it = pinned_allocs.find((uintptr_t)p);
	if (it == pinned_allocs.end())
		emu_fatal("cudaFreeHost(%p): not pinned host memory", p);
	pinned_allocs.erase(it);
	free(p);
	return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b)
{
	emu_guard g;
	*total_b = device_total();
	*free_b = *total_b - CONTEXT_BYTES - dev_in_use;
	return cudaSuccess;
}

/* ---------------- streams and events ---------------- */

struct emu_stream {
	std::deque<std::function<void()>> q;
	unsigned long long queued, done; /* operations ever queued, and run */
	int running;
};
static std::set<emu_stream *> streams;
static emu_stream legacy; /* stream NULL */

static emu_stream *resolve(cudaStream_t s)
{
	if (!s)
		return &legacy;
	if (!streams.count(s))
		emu_fatal("stream %p was not created or is destroyed", (void *)s);
	return s;
}

/* runs s's operations up to number `upto` (of all it ever queued) */
static void flush(emu_stream *s, unsigned long long upto)
{
	if (s->running && s->done < upto)
		emu_fatal("a stream waits for its own later work (a cycle of stream waits)");
	s->running++;
	while (s->done < upto && !s->q.empty()) {
		std::function<void()> op = std::move(s->q.front());
		s->q.pop_front();
		op();
		s->done++;
	}
	s->running--;
}

void emu_flush_all(void)
{
	emu_guard g;
	for (;;) {
		int any = 0;
		for (emu_stream *s : streams)
			if (!s->q.empty())
				flush(s, s->queued), any = 1;
		if (!legacy.q.empty())
			flush(&legacy, legacy.queued), any = 1;
		if (!any)
			break;
	}
}

void emu_enqueue(cudaStream_t s, std::function<void()> op)
{
	emu_guard g;
	emu_stream *st = resolve(s);
	if (st == &legacy) {
		/* the legacy default stream waits for the others; the project's streams are non-blocking,
		 * so only work queued here before counts: run it all now */
		emu_flush_all();
		op();
		legacy.queued++, legacy.done++;
		return;
	}
	st->q.push_back(std::move(op));
	st->queued++;
}

struct emu_event {
	emu_stream *s;
	unsigned long long seq; /* the stream's operation count at its recording */
	int recorded, timing;
	double ms;              /* host time when its recording ran */
};
static std::set<emu_event *> events;

static emu_event *event_of(cudaEvent_t e)
{
	if (!e || !events.count(e))
		emu_fatal("event %p was not created or is destroyed", (void *)e);
	return e;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
	emu_guard g;
	*s = new emu_stream();
	streams.insert(*s);
	return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
	emu_guard g;
	emu_stream *st = resolve(s);
	flush(st, st->queued); /* queued work still runs */
	streams.erase(st);
	delete st;
	return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
	emu_guard g;
	emu_stream *st = resolve(s);
	if (st == &legacy)
		emu_flush_all();
	else
		flush(st, st->queued);
	return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
	emu_flush_all();
	return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e) { return cudaEventCreateWithFlags(e, 0); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags)
{
	emu_guard g;
	*e = new emu_event();
	(*e)->timing = !(flags & cudaEventDisableTiming);
	events.insert(*e);
	return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
	emu_guard g;
	events.erase(event_of(e));
	delete e;
	return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
	emu_guard g;
	emu_event *ev = event_of(e);
	emu_stream *st = resolve(s);
	emu_enqueue(s, [ev] { ev->ms = now_ms(); });
	ev->s = st;
	ev->seq = st->queued;
	ev->recorded = 1;
	return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags)
{
	emu_guard g;
	emu_event *ev = event_of(e);
	if (!ev->recorded)
		return cudaSuccess; /* an event never recorded is complete */
	emu_stream *src = ev->s;
	unsigned long long seq = ev->seq;
	emu_enqueue(s, [src, seq] {
		if (streams.count(src) || src == &legacy)
			flush(src, seq);
	});
	return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
	emu_guard g;
	emu_event *ev = event_of(e);
	if (ev->recorded)
		flush(ev->s, ev->seq);
	return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
	emu_guard g;
	emu_event *x = event_of(a), *y = event_of(b);
	if (!x->timing || !y->timing || !x->recorded || !y->recorded)
		return emu_set_error(cudaErrorInvalidResourceHandle), cudaErrorInvalidResourceHandle;
	if (x->s->done < x->seq || y->s->done < y->seq)
		return emu_set_error(cudaErrorNotReady), cudaErrorNotReady;
	*ms = (float)(y->ms - x->ms);
	return cudaSuccess;
}

/* ---------------- copies ---------------- */

/* what p is, for a message: device memory (when `whole`, the copy's whole range is), past the end
 * of a device allocation, or host memory */
static const char *where(const void *p, int whole)
{
	return whole ? "device" : emu_is_device(p, 1) ? "past the end of a device allocation" : "host";
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s)
{
	emu_guard g;
	int dev_src = emu_is_device(src, bytes), dev_dst = emu_is_device(dst, bytes);
	if ((kind == cudaMemcpyHostToDevice && (!dev_dst || dev_src)) ||
	    (kind == cudaMemcpyDeviceToHost && (!dev_src || dev_dst)) ||
	    (kind == cudaMemcpyDeviceToDevice && (!dev_src || !dev_dst)) || kind == cudaMemcpyHostToHost)
		emu_fatal("cudaMemcpyAsync(%p, %p, %zu, kind %d): pointers do not match the kind (source %s, "
			  "destination %s)",
			  dst, src, bytes, kind, where(src, dev_src), where(dst, dev_dst));
	if (kind == cudaMemcpyHostToDevice && !emu_is_pinned(src)) {
		/* from pageable memory the call returns once the source is staged */
		std::vector<unsigned char> staged((const unsigned char *)src, (const unsigned char *)src + bytes);
		emu_enqueue(s, [dst, staged] { memcpy(dst, staged.data(), staged.size()); });
		return cudaSuccess;
	}
	emu_enqueue(s, [dst, src, bytes] { memcpy(dst, src, bytes); });
	if (kind == cudaMemcpyDeviceToHost && !emu_is_pinned(dst))
		cudaStreamSynchronize(s); /* into pageable memory the call returns when the copy is done */
	return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s)
{
	emu_guard g;
	if (!emu_is_device(p, bytes))
		emu_fatal("cudaMemsetAsync(%p, %zu bytes): not device memory", p, bytes);
	emu_enqueue(s, [p, value, bytes] { memset(p, value, bytes); });
	return cudaSuccess;
}

/* ---------------- device ---------------- */

const char *cudaGetErrorString(cudaError_t e)
{
	switch (e) {
	case cudaSuccess:
		return "no error";
	case cudaErrorInvalidValue:
		return "invalid argument";
	case cudaErrorMemoryAllocation:
		return "out of memory";
	case cudaErrorInvalidConfiguration:
		return "invalid configuration argument";
	case cudaErrorInvalidDevicePointer:
		return "invalid device pointer";
	case cudaErrorNoDevice:
		return "no CUDA-capable device is detected";
	case cudaErrorInvalidResourceHandle:
		return "invalid resource handle";
	case cudaErrorNotReady:
		return "device not ready";
	}
	return "unknown error";
}

cudaError_t cudaGetLastError(void)
{
	emu_guard g;
	cudaError_t e = last_error;
	last_error = cudaSuccess;
	return e;
}

cudaError_t cudaGetDeviceCount(int *n)
{
	*n = 1;
	return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev)
{
	if (dev != 0)
		return emu_set_error(cudaErrorInvalidValue), cudaErrorInvalidValue;
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "CUDA emulation on the CPU");
	p->totalGlobalMem = device_total();
	p->multiProcessorCount = 4;
	p->sharedMemPerBlock = SMEM_DEFAULT;
	p->sharedMemPerBlockOptin = SMEM_OPTIN_MAX;
	p->major = 9;
	return cudaSuccess;
}

cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaRuntimeGetVersion(int *v) { return *v = 13000, cudaSuccess; }
cudaError_t cudaDriverGetVersion(int *v) { return *v = 13000, cudaSuccess; }

/* the test suites' way to know they run on this emulation (tests/helpers/gpu_suite.h) */
extern "C" int emu_cuda_is_emulation(void) { return 1; }
