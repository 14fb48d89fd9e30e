from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/code/", views.sign_in_code, name="sign_in_code"),
    path("account/", views.account, name="account"),
    path("account/two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("account/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("account/password/", views.PasswordChange.as_view(), name="password_change"),
]
