/* pthreads: 8 threads, a mutex, a condition variable, a barrier, thread-local storage, join. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#define N 8
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t bar;
static long counter;
static int ready;
static __thread int tls_value;
static void *worker(void *arg) {
    long id = (long)arg;
    tls_value = (int)id * 10;
    for (int i = 0; i < 10000; i++) { pthread_mutex_lock(&mu); counter++; pthread_mutex_unlock(&mu); }
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&mu);
    while (!ready) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return (void *)(long)(tls_value + 1);
}
int main(void) {
    pthread_t th[N];
    pthread_barrier_init(&bar, NULL, N + 1);
    for (long i = 0; i < N; i++) pthread_create(&th[i], NULL, worker, (void *)i);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&mu); ready = 1; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&mu);
    long sum = 0;
    for (int i = 0; i < N; i++) { void *r; pthread_join(th[i], &r); sum += (long)r; }
    printf("counter=%ld sum=%ld\n", counter, sum);
    return 0;
}
