"""The node's L1 side: the JSON-RPC client (``client``), contract discovery (``discovery``),
the event ABI (``events``), the priority-transaction watcher (``watcher``) and L1 health
(``health``). ``deploy`` and ``artifacts`` build the L1 state (``zkosctl l1``)."""
