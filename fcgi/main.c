/* tally-fcgi: the FastCGI responder pool process. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>
#include <openssl/crypto.h>

#include "core/idgen.h"
#include "core/jwt.h"
#include "core/ops/jwks.h"
#include "core/ops/log.h"
#include "core/ops/quota.h"
#include "core/ops/config.h"
#include "core/ops/store.h"
#include "core/result.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"

#define MAX_THREADS	256

static struct app	 app;
static int		 listen_fd;

static void
usage(void)
{
	fprintf(stderr, "usage: tally-fcgi [--config FILE] [--listen "
	    "HOST:PORT|PATH] [--threads N]\n");
	exit(2);
}

/*
 * Open the --listen socket ourselves: FCGX_OpenSocket exits on failure
 * and binds all interfaces for ":port".
 */
static int
open_listen(const char *spec)
{
	struct sockaddr_un	 sun;
	struct sockaddr_in	 sin;
	const char		*colon;
	char			 host[64];
	int			 fd, one = 1;
	long			 port;
	char			*end;

	if (spec[0] == '/' || spec[0] == '.') {
		if (strlen(spec) >= sizeof(sun.sun_path))
			return -1;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, spec, strlen(spec) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			return -1;
		unlink(spec);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
		    listen(fd, 1024) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if ((colon = strrchr(spec, ':')) == NULL ||
	    (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host[0] ? host : "127.0.0.1",
	    &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 1024) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Take the web server's next connection ourselves and hand it to
 * FCGX_Accept_r, which then only reads the request.  libfcgi's own accept
 * poll()s every new Unix connection for up to 2 s before reading it, a
 * guard against web servers that connect and hang up without a word: one
 * more syscall and wakeup on every request.  Such a connection reads as end
 * of file here, and FCGX_Accept_r then closes it and accepts the next one
 * itself, guard included.  With FCGI_WEB_SERVER_ADDRS set libfcgi checks
 * the peer's address, so then it accepts.  A connection the web server
 * keeps (FCGI_KEEP_CONN) is read again as it is.
 */
static int
next_connection(FCGX_Request *fr, int own_accept)
{
	struct sockaddr_storage	 sa;
	socklen_t		 len;
	int			 fd, one = 1;

	if (!own_accept || fr->ipcFd >= 0)
		return 0;
	for (;;) {
		len = sizeof(sa);
		fd = accept4(listen_fd, (struct sockaddr *)&sa, &len,
		    SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != EINTR && errno != ECONNABORTED &&
		    errno != EPROTO && errno != EAGAIN)
			return -1;	/* shut down (EINVAL) or out of fds */
	}
	if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fr->ipcFd = fd;
	/* FCGX_Accept_r finishes the previous request first: not this one. */
	fr->keepConnection = 1;
	return 0;
}

/*
 * Close without libfcgi's lingering close (shutdown(2), poll(2), read(2),
 * then close(2)) when nothing the web server sent is left unread: a close
 * with unread data resets the connection, which is what the linger
 * guards against.  A responder has read its stdin to the end
 * (http_handle); an authorizer gets no stdin from Apache and its empty
 * end record from lighttpd in the same write as the request, so one
 * FIONREAD tells.
 */
static void
finish(FCGX_Request *fr, int all_read)
{
	int	 unread = 1;

	if (!fr->keepConnection && fr->ipcFd >= 0 &&
	    (all_read || (ioctl(fr->ipcFd, FIONREAD, &unread) == 0 &&
	    unread == 0)))
		FCGX_Detach(fr);
	FCGX_Finish_r(fr);
}

static void *
worker(void *arg)
{
	FCGX_Request	 fr;
	struct db	*db;
	int		 own_accept;

	(void)arg;
	op_store_thread_init();
	if ((db = op_store_new(&app.cfg)) == NULL)
		return NULL;
	metrics_thread_init();
	own_accept = getenv("FCGI_WEB_SERVER_ADDRS") == NULL;
	FCGX_InitRequest(&fr, listen_fd, 0);
	while (next_connection(&fr, own_accept) == 0 &&
	    FCGX_Accept_r(&fr) >= 0)
		finish(&fr, http_handle(&app, db, &fr));
	FCGX_Free(&fr, 1);
	metrics_thread_end();
	op_store_free(db);
	core_jwt_thread_end();
	core_digest_thread_end();
	op_jwks_thread_end(app.jwks);
	op_store_thread_end();
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t	 th[MAX_THREADS];
	sigset_t	 set;
	const char	*config = NULL, *listen_spec = NULL;
	char		 err[512];
	long		 nthreads = 0;
	int		 i, sig;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_spec = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			nthreads = strtol(argv[++i], NULL, 10);
		else
			usage();
	}
	if (op_config_load(op_config_path(config), &app.cfg, err,
	    sizeof(err)) != TALLY_OK) {
		fprintf(stderr, "tally-fcgi: %s\n", err);
		return 1;
	}
	http_keys_init(&app);
	if (nthreads <= 0)
		nthreads = (long)app.cfg.http_threads;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	/*
	 * When libfcgi does close a connection (finish() found something
	 * unread), it shuts it down and then waits up to
	 * LIBFCGI_OS_CLOSE_POLL_TIMEOUT ms for the web server to close its
	 * end first.  With 0 it still reads what is left in the socket before
	 * close(2), so nothing is reset, and no thread sleeps for it.
	 */
	if (getenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT") == NULL)
		setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 1);
	if (op_store_library_init() != TALLY_OK || FCGX_Init() != 0 ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tally-fcgi: library initialisation failed\n");
		return 1;
	}
	/* After curl_global_init: with auth.jwks_url this fetches. */
	if (op_jwks_new(&app.cfg, (int64_t)time(NULL), 0, &app.jwks, err,
	    sizeof(err)) != TALLY_OK) {
		fprintf(stderr, "tally-fcgi: %s\n", err);
		return 1;
	}
	if (listen_spec != NULL) {
		if ((listen_fd = open_listen(listen_spec)) < 0) {
			fprintf(stderr, "tally-fcgi: --listen %s: %s\n",
			    listen_spec, strerror(errno));
			return 1;
		}
	} else if (FCGX_IsCGI()) {
		fprintf(stderr, "tally-fcgi: standard input is not a FastCGI "
		    "socket; use --listen or start me from the web server\n");
		return 1;
	} else
		listen_fd = 0;

	/* The counters every responder of this configuration shares. */
	metrics_open(app.cfg.http_metrics_file);

	/*
	 * libfcgi's own SIGTERM handler only sets a flag and leaves the
	 * threads blocked in accept(2): block the signals in every thread and
	 * take them here, then wake accept with shutdown(2).
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (op_quota_start(&app.cfg) != TALLY_OK) {
		fprintf(stderr, "tally-fcgi: cannot start the quota writer\n");
		return 1;
	}
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "tally-fcgi: pthread_create failed\n");
			return 1;
		}
	core_log("info", "fcgi.start", json_pack("{s:i,s:i}", "pid",
	    (int)getpid(), "threads", (int)nthreads));
	sigwait(&set, &sig);
	core_log("info", "fcgi.stop", json_pack("{s:i}", "signal", sig));
	FCGX_ShutdownPending();
	shutdown(listen_fd, SHUT_RDWR);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	/* What the gate counted and did not write yet. */
	op_quota_stop();
	op_jwks_free(app.jwks);
	op_store_library_end();
	return 0;
}
