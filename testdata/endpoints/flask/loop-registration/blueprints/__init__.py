from .orders import orders
from .customers import customers

BLUEPRINTS = [
    (orders, "/api/orders"),
    (customers, "/api/customers"),
]
