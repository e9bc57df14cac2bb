"""The public web-to-lead endpoint: /public/lead/<token>."""
from flask import Blueprint

blueprint = Blueprint("crm_sales_public", __name__, url_prefix="/public")
