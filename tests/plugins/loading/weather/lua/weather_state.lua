return {created = os.clock()}
