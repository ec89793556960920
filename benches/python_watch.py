"""The Python `kubernetes` client's side of the watch comparison in `benches/watch_python.rs`.

Lists every pod, then watches from the list's resourceVersion and counts the MODIFIED events in
which a container's restartCount went up, which is the least a watcher must do to notice a
restart. It stores nothing and fetches no logs. It prints one JSON line with its timings and
resident memory, then exits once it has seen the expected number of restarts.

Usage: python3 benches/python_watch.py KUBECONFIG EXPECTED_RESTARTS
"""

import json
import sys
import time

from kubernetes import client, config, watch


def resident_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def restart_counts(pod):
    statuses = (pod.status.container_statuses or []) if pod.status else []
    return {status.name: status.restart_count for status in statuses}


def main():
    kubeconfig, expected = sys.argv[1], int(sys.argv[2])
    config.load_kube_config(config_file=kubeconfig)
    api = client.CoreV1Api()

    started = time.monotonic()
    pods = api.list_pod_for_all_namespaces(limit=500)
    known = {}
    while True:
        for pod in pods.items:
            known[pod.metadata.uid] = restart_counts(pod)
        token = pods.metadata._continue
        if not token:
            break
        pods = api.list_pod_for_all_namespaces(limit=500, _continue=token)
    listed = time.monotonic()
    version = pods.metadata.resource_version
    print(json.dumps({"event": "listed", "pods": len(known), "list_seconds": listed - started,
                      "rss_kib": resident_kib()}), flush=True)

    seen = 0
    first = None
    stream = watch.Watch().stream(api.list_pod_for_all_namespaces, resource_version=version,
                                  allow_watch_bookmarks=True, timeout_seconds=300)
    for event in stream:
        if event["type"] != "MODIFIED":
            continue
        if first is None:
            first = time.monotonic()
        pod = event["object"]
        counts = restart_counts(pod)
        before = known.get(pod.metadata.uid, {})
        seen += sum(1 for name, count in counts.items() if count > before.get(name, 0))
        known[pod.metadata.uid] = counts
        if seen >= expected:
            break
    done = time.monotonic()
    print(json.dumps({"event": "watched", "restarts": seen,
                      "watch_seconds": done - (first or done), "rss_kib": resident_kib()}),
          flush=True)


if __name__ == "__main__":
    main()
