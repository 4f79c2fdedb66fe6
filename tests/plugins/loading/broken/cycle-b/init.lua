return {name = "cycle-b"}
