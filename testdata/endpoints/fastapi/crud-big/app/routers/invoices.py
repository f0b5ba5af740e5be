from fastapi import APIRouter

from app.models import Invoice

router = APIRouter(prefix="/invoices", tags=["invoices"])


@router.get("/")
def list_invoices(paid: bool = False):
    return []


@router.post("/")
def create_invoice(invoice: Invoice):
    return invoice


@router.get("/{invoice_id}")
def get_invoice(invoice_id: int):
    return {}


@router.get("/{invoice_id}/pdf")
def invoice_pdf(invoice_id: int):
    return {}


@router.post("/{invoice_id}/pay")
def pay_invoice(invoice_id: int, amount: float):
    return {}
