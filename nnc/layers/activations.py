def get(x):
    return None
