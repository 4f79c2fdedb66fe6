return {name = "syntax",, }
