return {name = "cycle-a"}
