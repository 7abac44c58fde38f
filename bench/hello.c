/*
 * hello: the smallest libfcgi responder shaped like tally-fcgi, for
 * bench/status.sh to compare against.  Same threading (FCGX_Init, N threads
 * on FCGX_Accept_r, listen socket on fd 0 as lighttpd's bin-path gives it,
 * no accept mutex) and the same signal handling, but no work per request:
 * no JWT, no database, no JSON building, no log line.
 *
 * cc -O2 -o hello bench/hello.c $(pkg-config --cflags --libs fcgi) -pthread
 * usage: hello [THREADS]   (else $BENCH_HELLO_THREADS, else 4: tally's
 *                           http.threads default)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <fcgiapp.h>

#define MAX_THREADS	64

static const char reply[] =
	"Status: 200\r\n"
	"Content-Type: application/json\r\n"
	"\r\n"
	"{\"balance\":0,\"currency\":\"EUR\"}";

static void *
worker(void *arg)
{
	FCGX_Request	 fr;

	(void)arg;
	FCGX_InitRequest(&fr, 0, 0);
	while (FCGX_Accept_r(&fr) >= 0) {
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, fr.out);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t	 th[MAX_THREADS];
	sigset_t	 set;
	const char	*arg = argc > 1 ? argv[1] : getenv("BENCH_HELLO_THREADS");
	char		*end;
	long		 n = 4;
	int		 i, sig;

	if (arg != NULL && *arg != '\0') {
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno != 0 || *end != '\0')
			n = 0;
	}
	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: hello [THREADS 1-%d]\n", MAX_THREADS);
		return 2;
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "hello: FCGX_Init failed\n");
		return 1;
	}
	if (FCGX_IsCGI()) {
		fprintf(stderr, "hello: fd 0 is not a FastCGI listen socket\n");
		return 1;
	}
	/* As tally-fcgi: take the signals here, wake accept with shutdown. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "hello: pthread_create failed\n");
			return 1;
		}
	sigwait(&set, &sig);
	FCGX_ShutdownPending();
	shutdown(0, SHUT_RDWR);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}
