from . import auth, customers, invoices, orders, products
