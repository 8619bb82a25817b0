/* 日本語のメッセージ。printf の変換指定は英語版と同じにすること。 */
#include "msg.h"

const char *const xb_msg_table_ja[XB_MSG__COUNT] = {
    [XB_MSG_SIGNIN_PAGE_TITLE] = "XOAuth Bridge サインイン",
    [XB_MSG_SIGNIN_OK_HEAD] = "サインインしました",
    [XB_MSG_SIGNIN_OK_BODY] = "XOAuth Bridge が %s のメールを送受信できるようになりました。"
                              "このタブを閉じて、メールソフトに戻ってください。",
    [XB_MSG_SIGNIN_FAIL_HEAD] = "サインインできませんでした",
    [XB_MSG_SIGNIN_FAIL_BODY] = "XOAuth Bridge はサインインを完了できませんでした（%s）。"
                                "このタブを閉じて、XOAuth Bridge からもう一度お試しください。",
    [XB_MSG_SIGNIN_WRONG_LINK] = "XOAuth Bridge が待っているサインインではありません。"
                                 "このタブを閉じて、サインインを最初からやり直してください。",
    [XB_MSG_SIGNIN_DENIED] = "同意画面でアクセスが許可されませんでした",
    [XB_MSG_SIGNIN_TIMEOUT] = "%u 分以内にサインインが完了しませんでした（ブラウザを閉じましたか？）",
    [XB_MSG_SIGNIN_OPENING] = "%s のサインインのためにブラウザを開いています…",
    [XB_MSG_SIGNIN_VISIT] = "ブラウザが開かない場合は、次のアドレスを開いてください: %s",
    [XB_MSG_SIGNIN_DONE] = "サインインしました: %s",
    [XB_MSG_SIGNIN_FAILED] = "サインインに失敗しました: %s",
    [XB_MSG_SECRET_SHOWN_ONCE] = "%s のローカルパスワード（表示は今回限りです。メールソフトで"
                                 "サーバー 127.0.0.1 と共に使ってください）:",
    [XB_MSG_LOGOUT_DONE] = "サインアウトしました: %s。トークンは失効させ、削除しました。",
    [XB_MSG_LOGOUT_REVOKE_FAILED] = "プロバイダーが失効を確認しませんでした（%s）。"
                                    "このコンピューター上のトークンは削除しました。",
    [XB_MSG_TESTING_EXPIRY] = "Google は「テスト」状態の OAuth クライアントのサインインを 7 日で"
                              "終了します。管理者にアプリの公開（または「内部」への変更）を"
                              "依頼してください",
};
