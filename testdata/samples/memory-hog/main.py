"""A FastAPI app that allocates memory at import until it is killed."""
from fastapi import FastAPI

app = FastAPI()

PAGE = 4096
MIB = 1 << 20

print("allocating until killed", flush=True)
hog = []
while True:
    chunk = bytearray(MIB)
    # bytearray memory may come from untouched zero pages; writing one byte
    # a page makes each MiB resident, so the cgroup limit is really hit.
    for offset in range(0, MIB, PAGE):
        chunk[offset] = 1
    hog.append(chunk)
    if len(hog) % 64 == 0:
        print(f"allocated {len(hog)} MiB", flush=True)
