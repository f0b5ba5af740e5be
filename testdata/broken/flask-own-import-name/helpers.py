def format_price(p):
    return f"${p:.2f}"
