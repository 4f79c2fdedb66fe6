return {services = {s = {fn = function() end}}}
