"""The NAT lab: real NATs in network namespaces, our peers behind them (make nat-lab).

``topology`` builds the network, ``cases`` runs the matrix, ``peer`` is the peer run
inside a namespace. scripts/nat-lab.py prints the matrix; tests/test_nat_lab.py asserts it.
"""
