return {name = "x"}
