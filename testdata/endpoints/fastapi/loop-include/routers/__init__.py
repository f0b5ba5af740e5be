PLUGINS = ["reviews", "wishlist"]
