"""The load test: kube-apiserver and ``watchcache serve`` side by side.

One command (``python -m benchmarks.loadtest run``) runs scenarios, each
against the backend directly and through the proxy in the same run, and
writes JSON results and a markdown report with plots.

Scenarios:
    writes      create, patch, delete one at a time, direct and proxy
                interleaved: the latency the proxy adds to a write
    broadcast   W watchers of one namespace's pods, R patches a second
    liststorm   C clients listing 10,000 pods: RV=0, RV unset, paginated
    nodes       kwok-style simulated nodes (``benchmarks.nodesim``)
    kubelets    kubemark's hollow nodes (the real 1.20 kubelet) directly,
                through the proxy, and through a proxy answering JSON
                only: pod start and delete, the kubelets' own CPU

Modules:
    stack       the servers: dev cluster, simulator, the proxies; pids
    procstat    CPU-seconds and RSS of those pids from /proc
    apimetrics  kube-apiserver's own request and watcher counts
    meter       one measured phase's cost, from the three above
    streams     cheap watch clients and the per-watcher check
    pacing      writes at a fixed rate; bounded concurrency
    workload    namespaces and pods created before a phase
    broadcast, liststorm, writes, nodes   the scenarios
    profiles    the sizes: quick, full, and spread (for ``--repeat``)
    spread      median, quartiles and min-max of a figure over repeats
    suite       running steps, machine and version facts
    progress    the progress bar
    report      markdown and plots from the JSON
    simserver   the simulated API server in its own process
"""
