from .item import Item, ItemCreate, ItemUpdate
from .user import User, UserCreate, UserUpdate
