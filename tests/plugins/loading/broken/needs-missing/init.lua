return {name = "needs-missing"}
